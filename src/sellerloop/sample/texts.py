"""Word pools and text templates for the sample layer: people, emails, meetings, call transcripts, tickets and
signals.

Every function takes a `random.Random` the caller seeded for one record, so the same seed and record always
give the same text, whatever order the records are built in. Texts are composed from many small
interchangeable parts, so two deals rarely read alike. All people, companies and domains are made up;
domains use the reserved `.example` top-level domain and phone numbers the fictional 555-01xx range.
"""
from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from sellerloop.records.ids import slug

SELLER_COMPANY = "MavenTech"
SELLER_TITLE = {"seller": "Account Executive", "manager": "Regional Sales Manager"}

FIRST_NAMES = (
    "Aisha", "Alejandro", "Amara", "Andrea", "Arjun", "Beatriz", "Ben", "Camille", "Carlos", "Chen", "Chloe",
    "Daniel", "Deepa", "Diego", "Elena", "Emeka", "Erik", "Fatima", "Felix", "Grace", "Hana", "Hassan",
    "Ingrid", "Isabel", "Jamal", "Jana", "Javier", "Jin", "Jonas", "Julia", "Kai", "Karen", "Kenji", "Laila",
    "Lars", "Leah", "Liam", "Lucia", "Malik", "Marco", "Maria", "Mateo", "Maya", "Mehmet", "Mia", "Nadia",
    "Naveen", "Nia", "Noah", "Olivia", "Omar", "Paolo", "Priya", "Rafael", "Rachel", "Ravi", "Rosa", "Ryan",
    "Sakura", "Samuel", "Sara", "Sean", "Sofia", "Sunil", "Tariq", "Thea", "Tomas", "Valentina", "Victor",
    "Wei", "Yasmin", "Yusuf", "Zara", "Zoe", "Patrick", "Helen", "Gregory", "Monica", "Derek", "Tanya",
)
LAST_NAMES = (
    "Abara", "Adeyemi", "Alvarez", "Andersen", "Bauer", "Becker", "Bianchi", "Brooks", "Castillo", "Chandra",
    "Cho", "Costa", "Dahl", "Delgado", "Dubois", "Eriksen", "Farah", "Fischer", "Fontaine", "Garcia",
    "Gupta", "Haddad", "Hansen", "Hoffman", "Ibrahim", "Ito", "Jensen", "Kader", "Kim", "Kowalski", "Kumar",
    "Laurent", "Lee", "Lindqvist", "Lopez", "Mahmoud", "Marino", "Mendes", "Meyer", "Moreau", "Murphy",
    "Nakamura", "Novak", "Nwosu", "Okafor", "Olsen", "Ortiz", "Park", "Patel", "Petrov", "Quinn", "Ramirez",
    "Reyes", "Rossi", "Sato", "Schmidt", "Silva", "Singh", "Sokolova", "Suzuki", "Tanaka", "Torres",
    "Turner", "Vargas", "Vasquez", "Walsh", "Weber", "Wong", "Yamada", "Yilmaz", "Zhang", "Zimmerman",
    "Hartley", "Whitaker",
)

# Title and the role the person usually plays in a deal.
TITLES = (
    ("Chief Financial Officer", "economic_buyer"),
    ("VP of IT", "decision_maker"),
    ("IT Director", "champion"),
    ("Head of Procurement", "influencer"),
    ("Chief Information Security Officer", "technical_evaluator"),
    ("Operations Manager", "user"),
    ("Chief Operating Officer", "economic_buyer"),
    ("Chief Technology Officer", "decision_maker"),
    ("Director of Sales Operations", "champion"),
    ("Enterprise Architect", "technical_evaluator"),
    ("Senior Systems Engineer", "technical_evaluator"),
    ("IT Manager", "champion"),
    ("Procurement Specialist", "influencer"),
    ("Finance Director", "economic_buyer"),
    ("Head of Customer Support", "user"),
    ("Security Compliance Manager", "blocker"),
    ("Legal Counsel", "blocker"),
    ("Business Analyst", "user"),
    ("VP of Operations", "decision_maker"),
    ("Data Platform Lead", "technical_evaluator"),
)
ROLES = (
    "champion", "economic_buyer", "decision_maker", "influencer", "technical_evaluator", "user", "blocker",
)
CHAMPION_TITLES = ("IT Director", "IT Manager", "Director of Sales Operations", "Operations Manager")
BUYER_TITLES = ("Chief Financial Officer", "Chief Operating Officer", "Finance Director")

AREA_CODES = (
    "212", "303", "312", "404", "415", "512", "617", "646", "702", "206", "305", "470", "720", "858",
)

COMPETITORS = (
    "Zentrix", "Corvane", "Altiva Systems", "Brightlane", "Northgate Technologies", "Quorum Labs", "Helixor",
    "Stratavue",
)

# Made-up company names for the contacts of deals whose account Maven does not record.
COMPANY_HEADS = (
    "North", "Blue", "Iron", "Silver", "Cedar", "Harbor", "Summit", "Pine", "Red", "Clear", "Bright",
    "Granite", "Falcon", "Maple", "Atlas", "Orion", "Coral", "Lumen", "Vertex", "Willow", "Aspen", "Copper",
    "Keystone", "Meridian", "Nimbus", "Polar", "Quartz", "Sierra", "Tidal", "Union",
)
COMPANY_TAILS = (
    "wind Logistics", "field Health", "stone Retail", "bridge Financial", "point Media", "water Foods",
    "gate Manufacturing", "line Telecom", "crest Insurance", "wood Partners", "view Analytics",
    "path Energy", "port Shipping", "ridge Pharma", "brook Services", "haven Hospitality", "light Studios",
    "works Engineering", "mark Consulting", "star Systems",
)

PRODUCT_PITCH = {
    "GTX": ("workflow automation", "the GTX platform", "automated reporting"),
    "MG": ("device monitoring", "the MG add-on", "proactive alerting"),
    "GTK": ("high-volume data processing", "the GTK 500 appliance", "on-site processing capacity"),
}

SECTOR_PAIN = {
    "technology": ("our release reporting is stitched together from five spreadsheets",
                   "engineering spends two days every month reconciling license usage",
                   "our support backlog keeps growing faster than we can hire"),
    "medical": ("clinic managers are still tracking equipment by hand",
                "every audit means a week of pulling records out of three systems",
                "our device downtime is hurting patient scheduling"),
    "retail": ("store managers can't see stock levels until the next morning",
               "our holiday peak exposed how fragile the order pipeline is",
               "returns processing takes far too long across the regions"),
    "software": ("our customer onboarding takes six weeks and it should take two",
                 "we can't tell which accounts are actually using what they bought",
                 "our internal tools don't talk to each other"),
    "entertainment": ("ticketing and content operations run on separate systems",
                      "we lose hours every week reconciling partner reports",
                      "our venues report outages late and by phone"),
    "marketing": ("campaign reporting for clients is still a manual export",
                  "our account teams rebuild the same dashboards every month",
                  "we have no single view of spend across clients"),
    "finance": ("month-end close takes nine working days",
                "compliance reporting depends on two people who know the spreadsheets",
                "our branch systems are out of sync by a day or more"),
    "employment": ("placement reporting is weeks behind",
                   "recruiters re-enter candidate data in three tools",
                   "we can't see fill rates by region in real time"),
    "services": ("field technicians work from printed job sheets",
                 "scheduling is done by email and it breaks every week",
                 "billing disputes come from data that never matched"),
    "telecommunications": ("network incidents are reported by customers before we see them",
                           "provisioning requests sit in queues for days",
                           "our regional teams use different tools for the same job"),
}
GENERIC_PAIN = ("too much of the work is manual and error-prone",
                "reporting to leadership takes days instead of minutes",
                "our current tooling won't scale with the growth we are planning")

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def long_date(day: dt.date) -> str:
    """'February 14, 2018': how close dates are written in emails and transcripts."""
    return f"{MONTHS[day.month - 1]} {day.day}, {day.year}"


def weekday_date(day: dt.date) -> str:
    """'Friday, December 8': how commitment dates are spoken."""
    return f"{WEEKDAYS[day.weekday()]}, {MONTHS[day.month - 1]} {day.day}"


def next_workday(day: dt.date) -> dt.date:
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


# ---------------------------------------------------------------------------------------------------- people


@dataclass(frozen=True)
class Person:
    name: str
    title: str
    email: str
    company: str
    contact_id: str | None = None
    user_id: str | None = None
    role: str | None = None  # role in the deal, for contacts

    @property
    def first(self) -> str:
        return self.name.split()[0]

    def ref(self, role: str) -> dict:
        """The participant entry of an activity."""
        entry = {"name": self.name, "email": self.email, "role": role}
        if self.contact_id:
            entry["contact_id"] = self.contact_id
        if self.user_id:
            entry["user_id"] = self.user_id
        return entry

    @property
    def signature(self) -> str:
        return f"{self.name}\n{self.title}\n{self.company}"


def person_name(rng: random.Random, taken: set[str] = frozenset()) -> str:
    for _ in range(50):
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        if name not in taken:
            return name
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}-{rng.choice(LAST_NAMES)}"


def email_domain(company: str) -> str:
    return f"{slug(company)}.example"


def email_address(name: str, domain: str) -> str:
    return f"{slug(name).replace('-', '.')}@{domain}"


def phone(rng: random.Random) -> str:
    return f"+1 ({rng.choice(AREA_CODES)}) 555-01{rng.randint(0, 99):02d}"


def account_titles(rng: random.Random, n: int) -> list[tuple[str, str]]:
    """n distinct titles for an account: always someone who can champion a deal and someone who signs."""
    by_title = dict(TITLES)
    champion_title, buyer_title = rng.choice(CHAMPION_TITLES), rng.choice(BUYER_TITLES)
    champion, buyer = (champion_title, by_title[champion_title]), (buyer_title, by_title[buyer_title])
    rest = [t for t in TITLES if t not in (champion, buyer)]
    return [champion, buyer, *rng.sample(rest, n - 2)]


def unrecorded_company(rng: random.Random) -> str:
    return rng.choice(COMPANY_HEADS) + rng.choice(COMPANY_TAILS)


# ----------------------------------------------------------------------------------------------------- deals


@dataclass
class Deal:
    """What the text templates need to know about one opportunity."""

    opportunity_id: str
    company: str
    sector: str | None
    product: str
    series: str
    amount: float
    stage: str
    seller: Person
    contacts: list[Person]
    close_date: dt.date | None = None  # the date the CRM field holds
    pushed_to: dt.date | None = None  # the later date the customer asked for, when the deal slips
    push_reason_index: int = 0  # which of PUSH_REASONS the customer gives
    push_in_transcript: bool = False  # the slip is said on the recorded call (else only in an email)
    competitor: str = "Zentrix"
    pain: str = ""

    @property
    def champion(self) -> Person:
        return next((c for c in self.contacts if c.role == "champion"), self.contacts[0])

    def with_role(self, *roles: str) -> Person | None:
        return next((c for c in self.contacts if c.role in roles), None)

    @property
    def pitch(self) -> tuple[str, str, str]:
        return PRODUCT_PITCH.get(self.series, PRODUCT_PITCH["GTX"])

    @property
    def money(self) -> str:
        return f"${self.amount:,.0f}"


LEGAL_PUSH, BUDGET_YEAR_PUSH = 1, 2  # positions in PUSH_REASONS below


def deal_pain(rng: random.Random, sector: str | None) -> str:
    return rng.choice(SECTOR_PAIN.get(sector or "", GENERIC_PAIN) + GENERIC_PAIN[:1])


PUSH_REASONS = (
    ("Procurement can't sign before {d}, so let's move the close to then.",
     "procurement can't sign before {d}"),
    ("Legal needs another round on the contract, so realistically we are looking at {d} for signature.",
     "legal needs another round on the contract, so signature will not happen before {d}"),
    ("Our budget for this sits in the new fiscal year, which "
     "opens for spending on {d}. We'd have to close then.",
     "the budget sits in the new fiscal year, which opens for spending on {d}"),
    ("The board only meets again on {d}, and anything this "
     "size needs their approval, so the close moves to then.",
     "the board only approves spend of this size at its meeting on {d}"),
    ("Security won't finish their review before {d}, so let's plan the signature for that date.",
     "our security team will not finish the review before {d}"),
    ("Our CFO is out until the end of the month, so the earliest we can sign is {d}.",
     "our CFO is away and the earliest we can sign is {d}"),
)


# ---------------------------------------------------------------------------------------------------- emails

_GREETINGS = ("Hi {f},", "Hello {f},", "{f},", "Good morning {f},", "Hi {f}, hope your week is going well.")
_CLOSINGS = ("Best,", "Thanks,", "Kind regards,", "Best regards,", "Thank you,", "Cheers,")

_OUT_OPEN = (
    "Thanks again for the time on our call. As promised, here is a short recap of what we heard: {pain}. "
    "{pitch_a} is built for exactly that.",
    "Following up on our conversation about {pitch_b}. You mentioned that {pain}, and I think {product} can "
    "take most of that work off your team's plate.",
    "I wanted to pick up where we left off. Based on what you shared about your current setup, I've put "
    "together an outline of how {product} would fit at {company}.",
    "Great speaking with you earlier. I've attached the overview of {product} we discussed and a one-page "
    "summary of how similar {sector} teams rolled it out.",
    "It was good to meet you and the team. To recap: {pain}, and the goal is to fix that before the next "
    "planning cycle. {product} covers {pitch_a} out of the box.",
)
_OUT_ASK = (
    "Would you have 30 minutes next week to walk through a tailored demo with your technical team?",
    "Could you share who else should be part of the evaluation, so I can set up the right session?",
    "Are you open to a short call on Tuesday or Wednesday to go through pricing options?",
    "Can we get a working session on the calendar with your IT team to review the integration plan?",
    "If it helps, I can prepare a business case with the numbers you gave me for your leadership.",
)
# A customer's reply raises one topic; the seller's next message answers that topic.
_IN_REPLY = (
    ("integration", "Thanks for sending this over. The team had a look and the main question is how "
                    "{product} handles single sign-on and our existing {system}."),
    ("price", "Appreciate the recap, that matches our notes. Before we go further we need to understand "
              "total cost over three years, including implementation."),
    ("security", "Thanks. I shared the overview internally. Our {title2} wants to see the security "
                 "documentation before any further meetings."),
    ("competitor", "Good summary. One thing I did not mention on the call: we are also evaluating "
                   "{competitor}, so a clear comparison would help me make the case internally."),
    ("price", "This is helpful. Budget is tight this quarter, so anything you can do on pricing or a phased "
              "rollout would make this much easier to approve."),
    ("timing", "Thanks for following up. Timing is the tricky part for us; we are in the middle of a "
               "reorganisation and I need to check when the team can take this on."),
)
_IN_ASK = (
    "Can you send over the security questionnaire answers and your SOC 2 report?",
    "Could you include a reference customer in {sector} we could speak to?",
    "Can you put together a quote for {seats} seats with a phased start?",
    "Would next Thursday work for a technical session with our architects?",
    "Please send the standard contract terms so legal can start reviewing early.",
)
_OUT_ANSWER = {
    "integration": "Great questions. {product} supports SAML single sign-on and we have a standard connector "
                   "for {system}; I've attached the integration guide. I can bring one of our solutions "
                   "engineers to the next session.",
    "security": "Of course. I've attached our SOC 2 Type II report and the completed questionnaire. If your "
                "security team has follow-up questions, I'm happy to set up a call with our CISO.",
    "price": "Understood on cost. A phased rollout starting with {seats} seats brings the first-year cost "
             "down considerably, and I've attached both options side by side.",
    "competitor": "Happy to put together a comparison. Where we usually differ from {competitor} is the time "
                  "to go live and the total cost once implementation is included.",
    "timing": "Thanks for the candour on timing. Let's agree on a realistic plan; I've drafted a mutual "
              "action plan with the steps and owners we talked about.",
}
_IN_CONFIRM = (
    "Thanks, this answers most of our questions. I'll take it to {buyer} this week.",
    "Received, thank you. Our team will review and come back with any follow-ups.",
    "This helps a lot. Let's keep the session on the calendar and go from there.",
    "Thanks. I've forwarded the documents to procurement so they can start on their side.",
)


def email_thread(rng: random.Random, deal: Deal, *, n: int, first_inbound: bool, push_in_email: bool,
                 commitment_day: dt.date) -> list[dict]:
    """n messages of one thread: subject, body, direction, sender and recipients (Person), in order."""
    champion = deal.champion
    others = [c for c in deal.contacts if c is not champion]
    system = rng.choice(("ERP", "CRM", "identity provider", "data warehouse", "ticketing system"))
    slots = {
        "product": deal.product, "company": deal.company, "pain": deal.pain,
        "sector": deal.sector or "similar",
        "competitor": deal.competitor, "system": system, "seats": rng.choice((25, 50, 75, 100, 150, 250)),
        "pitch_a": deal.pitch[0].capitalize(), "pitch_b": deal.pitch[1],
        "title2": rng.choice(("security team", "CISO", "VP of IT", "architecture board")),
        # Whom the champion takes it to: the economic buyer, never themselves ("I'll take it to Omar" from Omar).
        # Said by full name when the two share a first name.
        "buyer": "our finance team" if (buyer := deal.with_role("economic_buyer")) in (None, champion)
        else buyer.name if buyer.first == champion.first else buyer.first,
    }
    subject = rng.choice((
        "{product} for {company}: next steps", "Follow-up: {product} evaluation", "{company} / MavenTech",
        "Recap and next steps — {product}", "Pricing options for {product}",
        "{product} proposal for {company}", "Our conversation about {pitch_b}",
    )).format(**slots)
    if first_inbound:
        subject = rng.choice(("Question about {product}", "Evaluating {product}",
                              "Request for information: {product}",
                              "Pricing and timeline for {product}")).format(**slots)
    # Each thread draws its sentences without repeats, so one message does not echo the previous one.
    decks = {id(pool): rng.sample(pool, len(pool)) for pool in (_IN_REPLY, _IN_ASK, _OUT_ASK)}

    def take(pool: tuple) -> str | tuple[str, str]:
        deck = decks[id(pool)]
        return deck.pop() if deck else rng.choice(pool)

    def answer() -> str:
        """The seller answers the topic the customer raised last, or offers one unprompted."""
        return _OUT_ANSWER[topic or rng.choice(tuple(_OUT_ANSWER))].format(**slots)

    topic = None

    messages = []
    inbound = first_inbound
    push_at = None
    if push_in_email:
        inbound_positions = [i for i in range(n) if (i % 2 == 0) == first_inbound]
        push_at = inbound_positions[-1] if inbound_positions else None
    for i in range(n):
        if inbound:
            sender, to = champion, [deal.seller]
            cc = [rng.choice(others)] if others and rng.random() < 0.3 else []
            if i == 0:
                parts = [f"We are looking at options for {deal.pitch[0]} "
                         f"at {deal.company}. In short, {deal.pain}.",
                         take(_IN_ASK).format(**slots)]
            elif i >= n - 2 and rng.random() < 0.5:
                parts = [rng.choice(_IN_CONFIRM).format(**slots)]
            else:
                topic, reply = take(_IN_REPLY)
                parts = [reply.format(**slots), take(_IN_ASK).format(**slots)]
            if i == push_at and deal.pushed_to:
                reason = PUSH_REASONS[deal.push_reason_index][1].format(d=long_date(deal.pushed_to))
                parts.append(rng.choice((
                    "One more thing on timing: {r}. I know we had "
                    "{old} in the plan, but that date won't hold.",
                    "A heads-up on the timeline: {r}. Please plan around that rather than {old}.",
                    "I also need to flag that {r}, so {old} is no longer realistic.",
                )).format(r=reason, old=long_date(deal.close_date)))
        else:
            sender, to = deal.seller, [champion]
            cc = []
            if others and rng.random() < 0.4:
                cc.append(rng.choice(others))
            if i == 0:
                parts = [rng.choice(_OUT_OPEN).format(**slots), take(_OUT_ASK).format(**slots)]
            elif i == n - 1:
                parts = [answer(), f"I'll send the updated proposal by {weekday_date(commitment_day)}."]
            else:
                parts = [answer(), take(_OUT_ASK).format(**slots)]
        greeting = rng.choice(_GREETINGS).format(f=to[0].first)
        body = f"{greeting}\n\n" + "\n\n".join(parts) + f"\n\n{rng.choice(_CLOSINGS)}\n{sender.signature}"
        messages.append({"subject": subject if i == 0 else f"Re: {subject}", "body": body,
                         "direction": "inbound" if inbound else "outbound", "sender": sender, "to": to,
                         "cc": cc})
        inbound = not inbound
    return messages


# -------------------------------------------------------------------------------------------------- meetings

_MEETING_KINDS = (
    ("Discovery meeting: {company} + MavenTech", ("Introductions and goals",
                                                  "Current process and pain points", "How {product} works",
                                                  "Next steps")),
    ("Technical deep dive: {product}", ("Architecture and integration with {system}",
                                        "Single sign-on and access control", "Data migration",
                                        "Open questions")),
    ("Pricing and packaging review — {company}", ("Scope and seat count", "Pricing options",
                                                  "Phased rollout", "Procurement steps")),
    ("Security review session", ("Security questionnaire walkthrough", "Data residency and encryption",
                                 "Incident response", "Outstanding items")),
    ("Executive alignment: {company} and MavenTech", ("Business case and expected results",
                                                      "Decision process and timeline", "Mutual action plan")),
    ("{product} demo for the {company} team", ("Live demo", "Questions from the team",
                                               "Success criteria for a pilot")),
)
NEXT_STEPS = (
    "{seller} to send the security questionnaire answers to {c} by {d}.",
    "{c} to confirm the list of integrations in scope by {d}.",
    "{seller} to share a revised quote with a phased rollout by {d}.",
    "{c} to set up a meeting with the economic buyer by {d}.",
    "{seller} to send a draft mutual action plan to {c} by {d}.",
    "{c} to share the procurement checklist by {d}.",
    "{seller} to arrange a reference call with a {sector} customer by {d}.",
    "{c} to book the technical session with the architecture team by {d}.",
)


def meeting(rng: random.Random, deal: Deal, *, day: dt.date, attendees: list[Person]) -> dict:
    system = rng.choice(("ERP", "CRM", "identity provider", "data warehouse"))
    title, agenda = rng.choice(_MEETING_KINDS)
    slots = {"company": deal.company, "product": deal.product, "system": system}
    next_step = rng.choice(NEXT_STEPS).format(seller=deal.seller.name, c=rng.choice(attendees).name,
                                              d=weekday_date(next_workday(
                                                  day + dt.timedelta(days=rng.randint(3, 9)))),
                                              sector=deal.sector or "similar")
    lines = ["Agenda:"] + [f"{i}. {item.format(**slots)}" for i, item in enumerate(agenda, 1)]
    lines += ["", "Attendees: " + ", ".join(f"{p.name} "
                                            f"({p.title}, {p.company})" for p in [deal.seller, *attendees])]
    lines += ["", f"Next step: {next_step}"]
    return {"subject": title.format(**slots), "body": "\n".join(lines), "next_step": next_step}


# ----------------------------------------------------------------------------------------------- transcripts


@dataclass
class Line:
    speaker: Person
    text: str


DISCOVERY = {
    "identify_pain": (
        ("What's the biggest problem you're trying to solve this year?",
         "Can you walk me through what's not working today?",
         "Where does the current process hurt the most?"),
        ("Honestly, {pain}. It's been like that for over a year.",
         "The short version is that {pain}, and everybody feels it.",
         "I'd say {pain}. That's what keeps coming up in our leadership meetings."),
    ),
    "metrics": (
        ("How would you measure success here? Is there a number leadership is watching?",
         "If this works, what changes in numbers six months from now?",
         "What would make this project a clear win for you?"),
        ("Today it takes us about {days} days to get a full report out. "
         "If we got that under {target}, the project pays for itself.",
         "We have roughly {hours} hours a week of manual work "
         "across the team. Cutting that in half is the goal.",
         "Our error rate on orders is around {pct} percent. We need to bring it below one percent."),
    ),
    "economic_buyer": (
        ("Who ultimately signs off on an investment like this?",
         "Who owns the budget for this, and have they been involved so far?",
         "When it comes to the final yes, whose decision is it?"),
        ("That would be {eb}, our {eb_title}. Anything over {limit} goes to {eb_first}.",
         "{eb_first} signs, {eb} that is. I've kept {eb_first} updated by email but not in a meeting yet.",
         "Final approval sits with {eb}. {eb_first} wants to see a business case first."),
    ),
    "decision_criteria": (
        ("What criteria will you use to compare the options?",
         "What does the winning solution need to have?",
         "How will you decide between the vendors on your list?"),
        ("Security and integration with our {system} are "
         "non-negotiable. After that it's total cost over three years.",
         "Ease of use for the regional teams, and a go-live in under ninety days.",
         "It has to pass our security review, it has to "
         "integrate with the {system}, and the price has to fit."),
    ),
    "decision_process": (
        ("Can you walk me through the steps between now and a signed agreement?",
         "What does your approval process look like for something like this?",
         "Once the team likes it, what happens next on your side?"),
        ("Technical evaluation first, then a security review, "
         "then procurement. Legal usually takes two weeks.",
         "We need sign-off from IT and finance, then procurement runs a vendor check before the contract.",
         "The architecture board reviews it, then it goes to the budget committee, which meets monthly."),
    ),
    "champion": (
        ("Who else on your side is pushing for this?",
         "Who would be most affected if this project didn't happen?",
         "Is there someone internally who would present this to leadership with you?"),
        ("Honestly, I'm the one driving it. I'll present it to the leadership team myself.",
         "Me, mostly. Our operations team is behind it too; they feel the pain every day.",
         "I am, and I have the backing of our VP. I'll make sure it gets on the agenda."),
    ),
    "competition": (
        ("Are you looking at other vendors as well?",
         "Who else are you talking to about this?",
         "Is anyone else in the running?"),
        ("We're also talking to {competitor}. They came in cheaper on the first quote.",
         "Yes, {competitor} is on the list. Some of the team used them at a previous company.",
         "We had a demo from {competitor} last week. It looked solid, to be honest."),
    ),
}
MEDDICC = tuple(DISCOVERY)
# When no economic buyer takes part in the deal yet: a gap the agents should notice.
NO_BUYER_ANSWERS = (
    "Good question. It would be {eb}, but we haven't brought them in yet. I wanted to be sure first.",
    "Probably {eb}. I haven't talked to them about this yet, to be honest.",
    "That's not fully clear yet. Either {eb} or the budget committee; I need to find out.",
)

OBJECTIONS = {
    "price": (
        ("Honestly, the price is higher than we budgeted. We set aside about {budget} for this.",
         "The quote is well above what we have this year. I'm not sure we can get it approved.",
         "Budget is the real problem. Finance has frozen new spend until the next quarter."),
        ("I understand. Let's look at a phased rollout; starting with "
         "the core team brings the first year down to around {budget}.",
         "That's fair. If we tie the scope to the metric you mentioned, the payback is under a year, and I "
         "can put that in a business case for finance.",
         "Understood. We can spread the payments across the year, which usually makes approval easier."),
    ),
    "security": (
        ("Our security team will need a full review before anything goes live, and that usually takes weeks.",
         "We've had a bad experience with a vendor and data access, so security will be strict on this.",
         "I'm worried about where the data is stored. Our CISO will ask about that first."),
        ("Completely understand. We're SOC 2 Type II certified and I can send our completed questionnaire "
         "today, which usually shortens the review a lot.",
         "That's a fair concern. Data stays in the region you choose and is encrypted at rest; I'll set up a "
         "call between our security lead and yours.",
         "We go through this with most customers. Let's start the review in parallel with the technical "
         "evaluation so it doesn't hold up the timeline."),
    ),
    "timing": (
        ("Timing is tough. We're in the middle of a reorganisation and the team is stretched.",
         "I'm not sure this is a priority before the end of the quarter.",
         "We have two other projects landing at the same time, so the team may not have capacity."),
        ("That makes sense. What if we plan the rollout so your "
         "team only needs a few hours a week in the first month?",
         "Understood. Let's map out a timeline that avoids your busy period and see whether it still works.",
         "Fair enough. Our onboarding team does most of the "
         "heavy lifting, so the load on your side stays light."),
    ),
    "competitor": (
        ("To be honest, {competitor} offered us a lower price and a faster start.",
         "{competitor} already has a connector to our {system}, which is a big plus for them.",
         "Some of our people prefer {competitor} because they used it before."),
        ("Thanks for telling me. Where we usually win against {competitor} is total cost once implementation "
         "is included; I can show you the comparison.",
         "Good to know. We have a certified connector for the "
         "{system} too, and I can show it working next week.",
         "That's understandable. Would it help to talk to a customer who switched from {competitor} to us?"),
    ),
    "integration": (
        ("My worry is the integration effort. Our IT team has no room for a big project.",
         "Connecting this to our {system} sounds like months of work.",
         "We've been burned by integrations before. How much of this falls on my team?"),
        ("That's a common concern. The standard connector covers the {system}, and our services team does "
         "the setup; most customers are live in six weeks.",
         "Fair. Let's do a short technical session with your "
         "architect so you can see exactly what's involved.",
         "Most of the integration is configuration, not code. I'll "
         "send you the integration plan from a similar rollout."),
    ),
}
UNHANDLED = (
    "Okay, noted. Let's keep going and come back to that.",
    "Right. Well, let me show you the next part first.",
    "Sure, understood. Moving on to the rollout plan...",
    "Hmm, okay. Let's park that for now.",
)
SELLER_COMMITMENTS = (
    "I'll send the security questionnaire by {d}.",
    "I'll send you a revised quote with the phased option by {d}.",
    "I'll get you a reference customer in {sector} by {d}.",
    "I'll put the integration plan in writing and send it over by {d}.",
    "I'll draft the mutual action plan and share it by {d}.",
    "I'll have our solutions engineer set up the sandbox for your team by {d}.",
)
CUSTOMER_COMMITMENTS = (
    "I'll get you the list of systems we need to connect by {d}.",
    "I'll set up a meeting with {eb_first} by {d}.",
    "I'll send over our procurement checklist by {d}.",
    "I'll share the security requirements document by {d}.",
    "I'll get the team's feedback on the demo to you by {d}.",
)


def transcript_lines(rng: random.Random, deal: Deal, *, call_day: dt.date,
                     target: int) -> tuple[list[Line], dict]:
    """A call of `target` lines (20-45) and what it contains: elements asked, objections raised and handled,
    commitments and whether the close date was pushed."""
    seller = deal.seller
    speakers = deal.contacts[: rng.randint(1, min(3, len(deal.contacts)))]
    champion = speakers[0]

    def someone() -> Person:
        return champion if rng.random() < 0.6 else rng.choice(speakers)

    eb = deal.with_role("economic_buyer")
    eb_name = eb.name if eb else f"our {rng.choice(('CFO', 'COO', 'Finance Director'))}"
    slots = {
        "pain": deal.pain, "competitor": deal.competitor, "sector": deal.sector or "your",
        "system": rng.choice(("ERP", "CRM", "identity provider", "data warehouse", "ticketing system")),
        "days": rng.choice((5, 7, 9, 12, 14)), "target": rng.choice(("two days", "one day", "a few hours")),
        "hours": rng.choice((30, 40, 60, 80, 120)), "pct": rng.choice((3, 4, 5, 6, 8)),
        "eb": eb_name, "eb_first": eb.first if eb else eb_name, "eb_title": eb.title if eb else "CFO",
        "limit": rng.choice(("$25,000", "$50,000", "$100,000")),
        "budget": f"${max(1000, round(deal.amount * rng.uniform(0.55, 0.8), -3)):,.0f}",
    }
    info = {"elements": [], "objections": [], "handled": [], "commitments": [], "pushed": False}

    greeting, reply = rng.choice((
        (f"Thanks for making the time today, {champion.first}.",
         "Happy to. It's been a busy week, but this is important for us."),
        (f"Hi {champion.first}, thanks for joining. Can you hear me all right?",
         "Yes, loud and clear. Thanks for setting this up."),
        (f"Good to see you again, {champion.first}. How was your "
         "week?", "Busy, as always. Glad we could find a slot."),
        (f"Morning, {champion.first}. Did the team get a chance to look at what I sent?",
         "Most of it, yes. We have questions, which is why I wanted this call."),
    ))
    opening = [
        Line(seller, greeting),
        Line(champion, reply),
        Line(seller, rng.choice((f"Today I'd like to understand where things stand, how you'd measure "
                                 f"success with {deal.product}, and what the path to a decision looks like. "
                                 "Does that work?",
                                 "I have a few questions about your process and then I'd like to agree on "
                                 "next steps. Sound good?",
                                 f"The plan is to go through your requirements for {deal.pitch[0]}, then "
                                 "talk about timeline. Anything you'd like to add?"))),
        Line(someone(), rng.choice(("Sounds good.", "That works for us.",
                                    "Yes, and I'd like to touch on pricing at the end."))),
    ]

    n_obj = rng.randint(1, 3)
    objection_kinds = rng.sample(tuple(OBJECTIONS), n_obj)
    pushed = deal.pushed_to is not None and deal.push_in_transcript
    fixed = len(opening) + 2 * n_obj + 2 + 4 + 2 + (2 if deal.close_date else 0)
    k = max(3, min(7, (target - fixed) // 2))
    elements = rng.sample(MEDDICC, k)
    if "identify_pain" not in elements:
        elements[0] = "identify_pain"

    discovery: list[list[Line]] = []  # question-and-answer pairs
    for element in elements:
        questions, answers = DISCOVERY[element]
        if element == "economic_buyer" and eb is None:
            answers = NO_BUYER_ANSWERS
        discovery.append([Line(seller, rng.choice(questions)),
                          Line(someone(), rng.choice(answers).format(**slots))])
        info["elements"].append(element)

    objections: list[Line] = []
    for kind in objection_kinds:
        raised, responses = OBJECTIONS[kind]
        objections.append(Line(someone(), rng.choice(raised).format(**slots)))
        info["objections"].append(kind)
        if rng.random() < 0.65:
            objections.append(Line(seller, rng.choice(responses).format(**slots)))
            objections.append(Line(someone(), rng.choice(("That helps, thanks.", "Okay, that's reassuring.",
                                                          "Let's see it in writing, then.",
                                                          "Fair. I'll take that back to the team."))))
            info["handled"].append(kind)
        else:
            objections.append(Line(seller, rng.choice(UNHANDLED)))

    timeline: list[Line] = []
    if deal.close_date:
        if pushed:
            reason_line, _ = PUSH_REASONS[deal.push_reason_index]
            timeline.append(Line(seller, "On timing, we've been working towards "
                                         f"{long_date(deal.close_date)}. "
                                         "Is that still realistic?"))
            timeline.append(Line(someone(), reason_line.format(d=long_date(deal.pushed_to))))
            timeline.append(Line(seller, f"Understood. Let's plan for {long_date(deal.pushed_to)} then."))
            info["pushed"] = True
        else:
            timeline.append(Line(seller, rng.choice((
                f"Are we still on track to have this signed by {long_date(deal.close_date)}?",
                f"Just to confirm the timeline: we're working towards {long_date(deal.close_date)}. "
                "Still realistic?"))))
            timeline.append(Line(someone(), rng.choice((
                f"Yes, {long_date(deal.close_date)} still works on our side.",
                f"As far as I know, yes. {long_date(deal.close_date)} is the plan.",
                f"It should be. If anything changes around {long_date(deal.close_date)}, I'll tell you."))))

    seller_day = next_workday(call_day + dt.timedelta(days=rng.randint(1, 6)))
    customer_day = next_workday(call_day + dt.timedelta(days=rng.randint(3, 10)))
    seller_promise = rng.choice(SELLER_COMMITMENTS).format(d=weekday_date(seller_day), **slots)
    customer_promise = rng.choice(CUSTOMER_COMMITMENTS).format(d=weekday_date(customer_day), **slots)
    commitments = [
        Line(seller, rng.choice(("Let me recap the next steps.", "So, to wrap up the next steps:",
                                 "Let's agree on who does what."))
             + " " + seller_promise),
        Line(champion, customer_promise),
    ]
    info["commitments"] = [(seller.name, seller_day, seller_promise), (champion.name, customer_day,
                                                                         customer_promise)]
    closing = [
        Line(seller, rng.choice(("Great. Thanks, everyone.", "Perfect. Talk soon.",
                                 "Thanks for the time today. I'll follow up by email."))),
        Line(champion, rng.choice(("Thanks, bye.", "Thank you, talk soon.", "Sounds good. "
                                                                            "Have a good day."))),
    ]

    fillers = [
        (Line(seller, "Can you say a bit more about that?"),
         Line(champion, "Sure. It mostly shows up at month end, when everyone is chasing the same numbers.")),
        (Line(seller, "How are you handling that today?"),
         Line(champion, "With spreadsheets and a lot of email, honestly.")),
        (Line(seller, "And how long has that been the case?"),
         Line(champion, "Since we grew past the first two regions, so about two years.")),
        (Line(seller, "Who else is affected by that?"),
         Line(champion, "The regional managers, mostly. They escalate to me.")),
        (Line(seller, "Have you tried to fix it before?"),
         Line(champion, "We tried an internal tool, but nobody had time to maintain it.")),
        (Line(seller, "What happens if nothing changes this year?"),
         Line(champion, "We'd have to hire two more people just to keep up.")),
        (Line(seller, "Is that the same in every region?"),
         Line(champion, "Worse in the bigger offices. The small ones cope somehow.")),
        (Line(seller, "What does that cost you, roughly?"),
         Line(champion, "Nobody has put a number on it, but it's at least a full-time person per region.")),
        (Line(seller, "Who feels it first when it goes wrong?"),
         Line(champion, "Our customers, unfortunately. That's why leadership is paying attention now.")),
        (Line(seller, "Got it. And is that a priority for your leadership this year?"),
         Line(champion, "It's on the list for this year. Whether it's in the top three, I can't promise.")),
    ]
    rng.shuffle(fillers)
    # Follow-up questions after some answers, until the call has its length.
    missing = target - (len(opening) + 2 * len(discovery) + len(objections) + len(timeline) + len(commitments)
                        + len(closing))
    while missing > 0 and fillers:
        at = rng.randint(1, len(discovery))
        discovery[at:at] = [list(fillers.pop())]
        missing -= 2
    lines = (opening + [line for pair in discovery for line in pair] + objections + timeline + commitments
             + closing)
    return lines, info


def timed(rng: random.Random, lines: list[Line]) -> list[tuple[str, float, float, str]]:
    """(speaker, start_s, end_s, text) with realistic speaking time: about 2.6 words a second plus pauses."""
    out = []
    t = round(rng.uniform(0.5, 4.0), 1)
    for line in lines:
        duration = len(line.text.split()) / rng.uniform(2.2, 3.0) + rng.uniform(0.3, 1.2)
        start, end = t, round(t + duration, 1)
        out.append((line.speaker.name, start, end, line.text))
        t = round(end + rng.uniform(0.2, 1.5), 1)
    return out


TRANSCRIPT_TITLES = ("Discovery call — {company} ({product})", "Evaluation call with {company}",
                     "{product} follow-up call — {company}", "Pricing and timeline call — {company}",
                     "Technical questions call — {company}")


# ---------------------------------------------------------------------------------------------- closed deals


def closed_lines(rng: random.Random, deal: Deal, *, won: bool, call_day: dt.date) -> list[Line]:
    """A shorter historical call on a deal that has since been won or lost."""
    lines, _ = transcript_lines(rng, deal, call_day=call_day, target=rng.randint(20, 30))
    seller, champion = deal.seller, deal.champion
    if won:
        lines[-2:-2] = [Line(champion, "For what it's worth, the team is convinced. "
                                       "I expect we can sign this month."),
                        Line(seller, "That's great to hear. I'll send the order form today.")]
    else:
        lines[-2:-2] = [Line(champion, f"I have to be straight with you: {deal.competitor} is the "
                                       "front-runner right now, mostly on price."),
                        Line(seller, "I appreciate you telling me. "
                                     "Is there anything that would change that?"),
                        Line(champion, "Probably not this year.")]
    return lines[:45]


# ------------------------------------------------------------------------------------------- calls and notes

CALL_NOTES = (
    "Quick call with {c}: they are still reviewing the proposal internally. Follow up next week.",
    "Left a voicemail for {c} about the security questionnaire. Sent a short email as well.",
    "Call with {c}: confirmed the pilot scope and the number of seats. Waiting for the procurement contact.",
    "Spoke with {c}. The team liked the demo; the open question is budget timing.",
    "Called {c} to check on the legal review. Legal has the contract; no comments yet.",
)
# A deal still in Prospecting has no contract with legal yet: its call note about legal says what is true then.
PROSPECTING_CALL_NOTES = {CALL_NOTES[4]: "Called {c} to ask who would review a contract on their side, when "
                                         "the time comes."}
NOTES = (
    "{c} mentioned at the industry event that the budget may be frozen until the next quarter.",
    "Heard from {c} that {competitor} presented to their leadership last week.",
    "{c} asked for a one-page summary they can forward internally.",
    "Reminder: {c} prefers email over calls and replies fastest in the mornings.",
    "{c} said the team is comparing two other vendors; ask for their evaluation criteria.",
)


# --------------------------------------------------------------------------------------------------- tickets

TICKETS = (
    ("Cannot log in with single sign-on", "Since this morning users get an error when they sign in through "
                                          "SSO. About {n} people are affected.", ("high", "critical")),
    ("Reports export times out", "The monthly export to CSV stops after a few minutes with a timeout. We "
                                 "need the report for the board pack.", ("medium", "high")),
    ("Request: add five seats", "We need five more seats for the new team starting next month.", ("low",)),
    ("Sync with ERP failing intermittently", "Orders are missing from the nightly sync about once a week. "
                                             "Error code E-{code} in the log.", ("high", "medium")),
    ("Dashboard shows wrong totals", "The regional dashboard totals do not match "
                                     "the detailed view since the last update.", ("medium",)),
    ("Service unavailable for all users", "The {product} console returns an error "
                                          "for everyone. Operations are blocked.", ("critical",)),
    ("How to configure user roles", "Could you point us to the documentation for custom roles?", ("low",)),
    ("Slow performance in the afternoon", "Pages take over ten seconds to load between 2 and 4 pm.",
     ("medium", "high")),
    ("Invoice does not match the contract", "The last invoice lists more "
                                            "seats than our contract.", ("low", "medium")),
    ("Data missing after upgrade", "After the upgrade last night, the records for one region are missing.",
     ("critical", "high")),
    ("Alert emails not delivered", "Alerts from {product} stopped arriving in our inbox.", ("medium",)),
    ("Training request for new admins", "We have two new administrators and would like a training session.",
     ("low",)),
)


# --------------------------------------------------------------------------------------------------- signals

NEWS = (
    ("funding", "{company} raises ${m} million to expand {area}",
     "{company} announced it has raised ${m} million in new financing. The company said the money will be "
     "used to expand {area} and to modernise its internal systems. Chief Executive {exec} said the company "
     "plans to grow headcount by {pct} percent over the next year."),
    ("expansion", "{company} opens new office in {city}",
     "{company} is opening a new regional office in {city}, its {nth} location. The office will house about "
     "{n} employees in sales, operations and IT. The company "
     "expects the site to be fully staffed by the end of the year."),
    ("new_executive", "{company} appoints {exec} as Chief Information Officer",
     "{company} has named {exec} as its new Chief Information Officer. {exec_first} joins from {previous}, "
     "where {exec_first} led a company-wide systems consolidation. In the new role {exec_first} will be "
     "responsible for IT strategy, security and vendor management."),
    ("acquisition", "{company} acquires {target}",
     "{company} has agreed to acquire {target}, a {sector} company with about {n} employees. The deal is "
     "expected to close next quarter. {company} said it will integrate "
     "{target}'s operations and systems over the following year."),
    ("partnership", "{company} announces partnership with {partner}",
     "{company} and {partner} announced a strategic partnership to serve customers in the {sector} market. "
     "The companies will combine their platforms and share data to speed up service delivery."),
    ("results", "{company} reports {pct} percent revenue growth",
     "{company} reported revenue growth of {pct} percent for the year, ahead of expectations. Management "
     "highlighted investment in automation and said operating costs remain a focus for the coming year."),
)
JOBS = (
    ("Senior IT Security Engineer", "We are looking for a Senior IT Security Engineer to lead vendor "
                                    "security reviews, run our SOC 2 programme "
                                    "and harden our cloud infrastructure."),
    ("Director of Procurement", "The Director of Procurement will own vendor selection and contract "
                                "negotiation for technology purchases across all regions."),
    ("CRM Administrator", "Join our sales operations team to administer our CRM, "
                          "build reports and automate workflows for {n} users."),
    ("Data Platform Engineer", "Help us build a modern data platform. You will integrate our ERP, CRM and "
                               "product data into one warehouse."),
    ("IT Project Manager — Systems Consolidation", "Lead the consolidation of our regional systems onto a "
                                                   "single platform over the next 18 months."),
    ("Head of Operations Excellence", "We are hiring a leader to drive process "
                                      "automation and reporting across our operations."),
    ("Systems Integration Specialist", "Own the integrations between our ERP, "
                                       "identity provider and third-party platforms."),
)
WEB_PAGES = (
    ("about", "About {company}", "{company} is a {sector} company founded in {year} with about {employees} "
                                 "employees. Headquartered in {location}, "
                                 "it serves customers across several regions."),
    ("press", "{company} press room", "The latest announcements from {company}, including product launches, "
                                      "leadership updates and regional expansion."),
    ("careers", "Careers at {company}", "{company} is growing. We are hiring across technology, operations "
                                        "and finance, with open roles in {location} and remote."),
    ("leadership", "Leadership team — {company}", "Meet the team leading {company}: our executive team "
                                                  "brings experience from the {sector} industry and beyond."),
)
NEWS_SOURCES = (
    "Industry Ledger", "Regional Business Journal", "Market Wire", "Sector Daily", "The Trade Report",
)
CITIES = (
    "Denver", "Austin", "Toronto", "Dublin", "Singapore", "Nairobi", "Manila", "Berlin", "Sao Paulo",
    "Chicago", "Atlanta", "Warsaw", "Melbourne", "Lisbon",
)
AREAS = ("its regional operations", "its product lines", "into new markets", "its customer service teams",
         "its logistics network")
