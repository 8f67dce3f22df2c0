// sellerloop on a HubSpot deal or company: what the agents say about this record, each item with its reason and
// how many sources back it, and links to the full panel in sellerloop. The card reads the record's
// `sellerloop_id` property to know which sellerloop record it is, and asks the sellerloop server with
// hubspot.fetch, which adds who is looking (userId, userEmail, portalId, appId) and signs the request; the
// server checks the signature and shows this person only what they may see in sellerloop.
import React, { useEffect, useState } from "react";
import {
  Alert,
  Divider,
  EmptyState,
  Flex,
  Link,
  LoadingSpinner,
  Tag,
  Text,
  hubspot,
} from "@hubspot/ui-extensions";
import { useCrmProperties } from "@hubspot/ui-extensions/crm";

// Your sellerloop server: the same address as SELLERLOOP_PUBLIC_URL there and as permittedUrls.fetch in
// ../app-hsmeta.json (HubSpot signs the URL it calls; the server checks it against its public URL).
const SELLERLOOP_URL = "https://sellerloop.example.com";

hubspot.extend(({ context }) => <SellerloopCard context={context} />);

const external = (url) => ({ url, external: true });

const SellerloopCard = ({ context }) => {
  const { properties, isLoading, error: propertyError } = useCrmProperties(["sellerloop_id"]);
  const [card, setCard] = useState(null);
  const [error, setError] = useState(null);
  const sellerloopId = properties?.sellerloop_id;
  const objectType = context.crm.objectTypeId; // "0-3" on a deal, "0-2" on a company

  useEffect(() => {
    if (!sellerloopId) return;
    const query = new URLSearchParams({ objectType, sellerloopId });
    hubspot
      .fetch(`${SELLERLOOP_URL}/api/hubspot/card?${query}`, { method: "GET", timeout: 10000 })
      .then(async (response) => {
        const body = await response.json();
        // sellerloop's errors are one line: {"detail": "..."} (not signed up, may not see this deal, ...).
        if (!response.ok) throw new Error(body.detail || `sellerloop answered ${response.status}`);
        setCard(body);
        setError(null);
      })
      .catch((e) => setError(e.message));
  }, [sellerloopId, objectType]);

  if (isLoading) return <LoadingSpinner label="Reading the record" />;
  if (propertyError) return <Alert title="sellerloop" variant="danger">{propertyError.message}</Alert>;
  if (!sellerloopId) {
    return (
      <EmptyState title="Not linked to sellerloop" layout="vertical">
        <Text>Set this record's sellerloop_id property to its id in sellerloop to see its agents here.</Text>
      </EmptyState>
    );
  }
  if (error) return <Alert title="sellerloop" variant="danger">{error}</Alert>;
  if (!card) return <LoadingSpinner label="Asking sellerloop" />;

  return (
    <Flex direction="column" gap="small">
      <Flex direction="row" gap="small" align="center">
        <Text format={{ fontWeight: "bold" }}>{card.record.name}</Text>
        {card.open_approvals > 0 && (
          <Tag variant="warning">{card.open_approvals} waiting for approval</Tag>
        )}
      </Flex>
      {card.note && <Alert title="Nothing stored yet" variant="info">{card.note}</Alert>}
      {card.items.map((item, n) => (
        <Flex key={n} direction="column" gap="extra-small">
          <Link href={external(item.links.panel)}>{item.title}</Link>
          <Text>{item.text}</Text>
          <Text variant="microcopy">
            {item.sources} {item.sources === 1 ? "source" : "sources"} ·{" "}
            <Link href={external(item.links.page)}>open in sellerloop</Link>
          </Text>
        </Flex>
      ))}
      {card.record.hidden.length > 0 && (
        <Text variant="microcopy">Hidden from you: {card.record.hidden.join(", ").replaceAll("_", " ")}</Text>
      )}
      <Divider />
      <Link href={external(card.links.panel)}>Open the full panel</Link>
    </Flex>
  );
};
