"""Coaching on one call: how the seller ran it, what the customer pushed back on and how it was answered, and
what to practise.

Sections:
- call_stats: talk ratio, questions asked, questions about what the customer wants, the longest monologue and
  whether a next step was secured, or the call closed on agreed terms;
- improvements: what to do differently, each citing the moments of the call it is about: objections not
  answered (or answered with a concession nothing was asked back for), a close date slipping, "who signs?"
  answered without a name, no next step;
- strengths: what went well, cited the same way;
- call_objections: every objection the customer raised, in their words, with the seller's reply, labelled with
  whether and how the reply answered it;
- call_needs: needs the customer stated;
- coverage / coverage_gaps: on a sales call, the playbook elements this call produced evidence for, and a
  question for each element it did not;
- roleplay: practice questions built from the objections actually raised.

How the figures stay honest: every item's text is made of the quoted words of the turns it cites (so the
verifier finds all of it in the quotes), and what code computed from the call (percentages, counts, seconds, a
verdict such as "not answered") goes in the item's `label`, which is written by code from constants and never
holds evidence text. A verdict is a claim too: an item is shown only when evidence/coaching_labels.label_holds
finds its verdict in the words it cites. The detectors are in evidence/dialogue.py and evidence/commitments.py
and are measured in docs/EVALUATION.md.
"""
from __future__ import annotations

from sqlalchemy.orm import Session

from sellerloop.agents.models import Subject
from sellerloop.agents.prep import OBJECTION_LABELS
from sellerloop.composers.base import Brief, FactList, Section
from sellerloop.evidence import dialogue
from sellerloop.evidence.coaching_labels import (
    ASKED_WANTS,
    CLOSED,
    DATED_STEP,
    HOW_HANDLED,
    NEXT_STEP_CLOSED,
    NEXT_STEP_DATED,
    NEXT_STEP_NONE,
    NEXT_STEP_UNDATED,
    NO_NAME,
    NO_NEXT_STEP,
    SLIPPING,
    UNASKED_NEED,
    UNDATED_STEP,
    UNTRADED,
    WANTS_QUESTIONS,
    label_holds,
)
from sellerloop.evidence.conversation import sentences
from sellerloop.evidence.dialogue import CUSTOMER, SELLER, Handling, NextStep, Turn
from sellerloop.evidence.models import SourceRef
from sellerloop.playbooks.models import Playbook
from sellerloop.records.models import Transcript
from sellerloop.verifier.facts import claim_facts

SECTIONS = [
    Section(key="call_stats", title="Call at a glance", kind="coaching_point", max_items=5,
            purpose="Talk ratio, questions asked, preference questions, longest monologue, next step."),
    Section(key="improvements", title="What to improve", kind="coaching_point", max_items=5,
            purpose="What the seller should do differently, each citing the moments of the call."),
    Section(key="strengths", title="What went well", kind="coaching_point", max_items=3,
            purpose="What the seller did well on the call, citing the moments."),
    Section(key="call_objections", title="Objections raised on this call", kind="objection", max_items=6,
            purpose="Each objection in the customer's words, and whether and how the seller answered it."),
    Section(key="call_needs", title="Needs the customer stated", kind="claim", max_items=3,
            purpose="What the customer said they or their people need, in their words."),
    Section(key="coverage", title="Playbook coverage on this call", kind="claim", max_items=12,
            purpose="The playbook elements this call produced evidence for, with the evidence."),
    Section(key="coverage_gaps", title="Not covered on this call: ask next time", kind="question",
            max_items=12,
            purpose="A qualifying question for each playbook element the call did not cover."),
    Section(key="roleplay", title="Role-play practice", kind="question", max_items=3,
            purpose="Practice questions built from the objections the customer actually raised."),
]

MAX_QUOTE = 300  # characters of a turn quoted whole; a longer one is quoted around the sentence that matters
# Thresholds for improvement points, each a common rule of thumb of sales coaching, set where a call clearly
# crosses it: call-recording studies put the best sellers at about 45% of the talking, so 60% is well past it;
# a minute of uninterrupted talk loses most listeners; two open questions is a low bar for a discovery call.
MAX_SELLER_SHARE = 0.60
MAX_MONOLOGUE_SECONDS = 60.0
MAX_MONOLOGUE_WORDS = 150  # untimed calls: about a minute of speech
MIN_OPEN_QUESTIONS = 2


def gather(*, session: Session, transcript: Transcript, playbook: Playbook, owners: set[str] | None) -> Brief:
    call = dialogue.call_turns(session=session, transcript=transcript)
    facts, _ = coach(call, playbook)
    subject = (Subject(type="opportunity", id=transcript.opportunity_id) if transcript.opportunity_id
               else Subject(type="transcript", id=transcript.id))
    return Brief(use_case="coaching", subject=subject, subject_name=transcript.title,
                 inputs={"transcript": transcript.id}, playbook=playbook.key, sections=SECTIONS, facts=facts)


def coach(call: dialogue.CallTurns, playbook: Playbook) -> tuple[FactList, list]:
    """The facts of the coaching on one call, and the labelled ones left out because their verdict did not hold
    for the words they cite (evidence/coaching_labels.py: a label is a claim too). Playbook questions only on a
    sales call: a campsite negotiation has no economic buyer to ask about."""
    turns = call.turns
    facts = FactList()
    if turns:
        handlings = dialogue.objection_handling(turns)
        steps = dialogue.next_steps(turns)
        unresolved = dialogue.unresolved_who(turns)
        _call_stats(facts, call, turns, steps)
        _improvements(facts, turns, handlings, steps, unresolved)
        _strengths(facts, turns, handlings, steps)
        _objections(facts, handlings)
        _needs(facts, turns)
        if dialogue.is_sales_call(turns):
            _coverage(facts, turns, playbook, asked_who=bool(unresolved))
        _roleplay(facts, handlings)
    kept, dropped = FactList(), []
    for fact in facts:
        label = str(fact.item_fields.get("label") or "")
        (kept if label_holds(label, [source.quote for source in fact.sources]) else dropped).append(fact)
    return kept, dropped


# ------------------------------------------------------------------------------------------------ citing


def cite(turn: Turn, sentence: str | None = None) -> tuple[str, list[SourceRef]]:
    """How a turn reads in an item's text, and the sources that hold exactly those words. A short turn is
    quoted whole ("Speaker: text", as the transcript line has it); in a long one only the sentence that
    matters (or its opening) is shown, cited as the speaker's label and that sentence, both verbatim in the
    turn's line."""
    if len(turn.text) <= MAX_QUOTE:
        return (f'{turn.speaker}: "{turn.text}"',
                [SourceRef(uri=turn.uri, quote=turn.quote, kind="transcript")])
    if sentence is None:
        opening = _opening(turn.text)
        return (f'{turn.speaker}: "{opening} …"',
                [SourceRef(uri=turn.uri, quote=f"{turn.speaker}: {opening}", kind="transcript")])
    return (f'{turn.speaker}: "… {sentence} …"',
            [SourceRef(uri=turn.uri, quote=f"{turn.speaker}:", kind="transcript"),
             SourceRef(uri=turn.uri, quote=sentence, kind="transcript")])


def _opening(text: str) -> str:
    """The first sentences of a long turn, up to MAX_QUOTE characters (at least one sentence)."""
    taken = ""
    for sentence in sentences(text):
        candidate = text[:text.index(sentence, len(taken)) + len(sentence)]
        if taken and len(candidate) > MAX_QUOTE:
            break
        taken = candidate
    return taken or text[:MAX_QUOTE]


def cite_all(*parts: tuple[Turn, str | None]) -> tuple[str, list[SourceRef]]:
    """Several turns in one item: their quotes joined with " · ", each with its sources."""
    texts, sources = [], []
    for turn, sentence in parts:
        text, refs = cite(turn, sentence)
        texts.append(text)
        sources += refs
    return " · ".join(texts), sources


def _percent(share: float) -> str:
    return f"{round(share * 100)}%"


# ------------------------------------------------------------------------------------------------ sections


def _call_stats(facts: FactList, call: dialogue.CallTurns, turns: list[Turn], steps: list[NextStep]) -> None:
    ratio = dialogue.talk_ratio(turns)
    seller_turns = [t for t in turns if t.side == SELLER]
    customer_turns = [t for t in turns if t.side == CUSTOMER]
    sides = "" if call.sides_by in ("users", "roles") else (
        " (no speaker is one of our users: the first speaker is taken as the seller)")
    longest = [max(side, key=lambda t: t.words) for side in (seller_turns, customer_turns) if side]
    text, sources = cite_all(*((t, None) for t in longest))
    facts.add("call_stats", text, sources,
              label=f"Talk ratio · seller {_percent(ratio.share(SELLER))}, "
                    f"customer {_percent(ratio.share(CUSTOMER))} "
                    f"of the {'talking time' if ratio.by == 'time' else 'words'}{sides}")

    asked = [(t, q) for t in seller_turns for q in dialogue.questions_in(t.text)]
    open_ones = [(t, q) for t, q in asked if dialogue.question_kind(q) == "open"]
    customer_asked = sum(len(dialogue.questions_in(t.text)) for t in customer_turns)
    # The two most substantial open questions (the longest), in call order: "How was your week?" is open too.
    best = sorted(sorted(open_ones or asked, key=lambda pair: len(pair[1]), reverse=True)[:2],
                  key=lambda pair: pair[0].seq)
    shown = best or [((seller_turns or turns)[0], None)]
    text, sources = cite_all(*shown)
    facts.add("call_stats", text, sources,
              label=f"Questions · the seller asked {len(asked)} ({len(open_ones)} open), "
                    f"the customer {customer_asked}")

    preference = [(t, q) for t in seller_turns for q in dialogue.preference_questions(t.text)]
    if _quotable_questions(preference):
        text, sources = cite_all(*_quotable_questions(preference)[:2])
        facts.add("call_stats", text, sources,
                  label=f"{WANTS_QUESTIONS} · {len(preference)}")

    run = dialogue.longest_monologue(turns)
    if run is not None:
        size = (f"{round(run.seconds)} seconds" if run.seconds is not None else f"{run.words} words")
        text, sources = cite_all(*((t, None) for t in run.turns[:2]))
        turns_said = f"{len(run.turns)} turns in a row" if len(run.turns) > 1 else "one turn"
        facts.add("call_stats", text, sources, label=f"Longest monologue · {run.side}, {turns_said}, {size}")

    closed = [s for s in steps if s.agreed]
    if closed:
        text, sources = cite_all(*_agreement(closed[-1]))
        facts.add("call_stats", text, sources, label=NEXT_STEP_CLOSED)
    elif steps:
        dated = [s for s in steps if s.dated]
        pool = dated or steps
        # The last step each side took on: who does what is the outcome of the call.
        chosen = sorted({s.turn.side: s for s in pool}.values(), key=lambda s: s.turn.seq)
        text, sources = cite_all(*((s.turn, s.sentence) for s in chosen))
        facts.add("call_stats", text, sources, label=NEXT_STEP_DATED if dated else NEXT_STEP_UNDATED)
    else:
        text, sources = cite_all(*_call_end(turns))
        facts.add("call_stats", text, sources, label=NEXT_STEP_NONE)


def _call_end(turns: list[Turn]) -> list[tuple[Turn, str | None]]:
    """The last two turns, where a next step would be, and the turn before them when it moved the close: a new
    date taken on after a slip ("Let's plan for September 30 then") is no step, and the check needs to see why."""
    end = turns[-3:] if len(turns) > 2 and dialogue.slips(turns[-3].text) else turns[-2:]
    return [(t, None) for t in end]


def _quotable_questions(asked: list[tuple[Turn, str]]) -> list[tuple[Turn, str]]:
    """The questions about what the customer wants that their citation shows to be such: "And you?" asks it
    only after the seller's own need, which a long turn's citation of that one sentence does not show."""
    return [(turn, question) for turn, question in asked
            if len(turn.text) <= MAX_QUOTE or dialogue.preference_questions(question)]


def _agreement(step: NextStep) -> list[tuple[Turn, str | None]]:
    """The turns that make agreed terms, in call order: the terms and the other side's yes (or ask)."""
    parts = {step.turn.seq: (step.turn, step.sentence)}
    if step.agreed is not None:
        parts.setdefault(step.agreed.seq, (step.agreed, None))
    return [parts[seq] for seq in sorted(parts)]


def _improvements(facts: FactList, turns: list[Turn], handlings: list[Handling], steps: list[NextStep],
                  unresolved: list[dialogue.Unresolved]) -> None:
    add = facts.add
    # Objections left unanswered first: they are what most often stalls a deal after the call.
    for h in handlings:
        category = OBJECTION_LABELS.get(h.category, h.category.capitalize())
        if h.how == "concession" and not h.traded:
            # A discount or an extra given with nothing asked back teaches the customer to push again.
            text, sources = cite_all(*_exchange(h))
            add("improvements", text, sources,
                label=f"{category} objection {HOW_HANDLED['concession']}, {UNTRADED} · trade it: ask for "
                      f"something in return (a date, a term, a reference)")
        if h.handled:
            continue
        text, sources = cite_all(*_exchange(h))
        advice = {"deferred": "answer it before moving on",
                  "acknowledged": "acknowledging is a start; answer it too",
                  "ignored": "answer it when it is raised"}[h.how]
        add("improvements", text, sources, label=f"{category} objection {HOW_HANDLED[h.how]} · {advice}")

    for turn in turns:
        for sentence in dialogue.slips(turn.text)[:1]:
            text, sources = cite(turn, sentence)
            add("improvements", text, sources,
                label=f"{SLIPPING} · a risk, not a next step: ask what moved it and what would bring it back")

    for ask in unresolved[:1]:
        text, sources = cite_all((ask.question, ask.sentence), *([(ask.answer, None)] if ask.answer else []))
        add("improvements", text, sources,
            label=f"{NO_NAME} · get the name: ask who exactly, and offer to bring them into the next call")

    if not steps:
        text, sources = cite_all(*_call_end(turns))
        add("improvements", text, sources,
            label=f"{NO_NEXT_STEP} · close with a dated next step: who does what, by when")
    elif not any(s.dated or s.agreed for s in steps):
        text, sources = cite_all(*((s.turn, s.sentence) for s in steps[:1]))
        add("improvements", text, sources,
            label=f"{UNDATED_STEP} · agree on the day before hanging up")

    seller_turns = [t for t in turns if t.side == SELLER]
    ratio = dialogue.talk_ratio(turns)
    if seller_turns and ratio.share(SELLER) > MAX_SELLER_SHARE and any(t.side == CUSTOMER for t in turns):
        longest = sorted(seller_turns, key=lambda t: t.words, reverse=True)[:2]
        text, sources = cite_all(*((t, None) for t in longest))
        add("improvements", text, sources,
            label=f"The seller did {_percent(ratio.share(SELLER))} of the talking · ask more, say less: "
                  f"the longest turns are where to cut")

    asked = [(t, q) for t in seller_turns for q in dialogue.questions_in(t.text)]
    open_ones = [q for _, q in asked if dialogue.question_kind(q) == "open"]
    if seller_turns and len(open_ones) < MIN_OPEN_QUESTIONS:
        if asked:
            closed = [(t, q) for t, q in asked if dialogue.question_kind(q) == "closed"][:2]
            text, sources = cite_all(*(closed or asked[:2]))
            label = (f"{len(open_ones)} open question(s) · ask what, how and why questions; "
                     f"these closed ones could have been open")
        else:
            text, sources = cite_all(*((t, None) for t in sorted(seller_turns, key=lambda t: t.words,
                                                                   reverse=True)[:1]))
            label = "The seller asked no questions · ask before you tell"
        add("improvements", text, sources, label=label)

    run = dialogue.longest_monologue(turns, side=SELLER)
    if run is not None and ((run.seconds is not None and run.seconds > MAX_MONOLOGUE_SECONDS)
                            or (run.seconds is None and run.words > MAX_MONOLOGUE_WORDS)):
        text, sources = cite_all(*((t, None) for t in run.turns[:2]))
        size = f"{round(run.seconds)} seconds" if run.seconds is not None else f"{run.words} words"
        add("improvements", text, sources, label=f"A {size} monologue · break it up with a question")

    # The customer said what they need, and the seller never asked what matters to them: a missed chance to
    # hear the need behind it in their own words.
    preference = [q for t in seller_turns for q in dialogue.preference_questions(t.text)]
    needs = _customer_needs(turns)
    if seller_turns and not preference and needs:
        turn, sentence, _ = needs[0]
        text, sources = cite(turn, sentence)
        add("improvements", text, sources,
            label=f"{UNASKED_NEED} · they stated this need; "
                  "ask what else they need and why")


def _strengths(facts: FactList, turns: list[Turn], handlings: list[Handling], steps: list[NextStep]) -> None:
    for h in handlings:
        if h.how in ("evidence", "question") or (h.how == "concession" and h.traded):
            category = OBJECTION_LABELS.get(h.category, h.category.capitalize())
            text, sources = cite_all(*_exchange(h))
            facts.add("strengths", text, sources, label=f"{category} objection {HOW_HANDLED[h.how]}")
    preference = _quotable_questions([(t, q) for t in turns if t.side == SELLER
                                      for q in dialogue.preference_questions(t.text)])
    if preference:
        text, sources = cite(*preference[0])
        facts.add("strengths", text, sources, label=ASKED_WANTS)
    closed = [s for s in steps if s.agreed]
    dated = [s for s in steps if s.dated and not s.agreed]
    if closed:
        text, sources = cite_all(*_agreement(closed[-1]))
        facts.add("strengths", text, sources, label=CLOSED)
    elif dated:
        text, sources = cite(dated[0].turn, dated[0].sentence)
        facts.add("strengths", text, sources, label=DATED_STEP)


def _exchange(h: Handling) -> list[tuple[Turn, str | None]]:
    """The objection and the seller's reply as an item cites them; of a long reply, the sentence that makes its
    strongest move, so the label's verdict can be checked in the words shown."""
    if h.reply is None:
        return [(h.objection, None)]
    moves = h.moves[:1] or ("ignored",)
    sentence = next((s for s in sentences(h.reply.text)
                     if dialogue.reply_moves(s, h.objection.text, h.category)[:1] == moves), None)
    return [(h.objection, None), (h.reply, sentence)]


def _objections(facts: FactList, handlings: list[Handling]) -> None:
    # Unanswered ones first: they are what the next call has to deal with.
    for h in sorted(handlings, key=lambda h: h.handled):
        category = OBJECTION_LABELS.get(h.category, h.category.capitalize())
        text, sources = cite_all(*_exchange(h))  # the reply too: the verdict is about it
        untraded = f", {UNTRADED}" if h.how == "concession" and not h.traded else ""
        facts.add("call_objections", text, sources, label=f"{category} · {HOW_HANDLED[h.how]}{untraded}")


def _customer_needs(turns: list[Turn]) -> list[tuple[Turn, str, set[str]]]:
    return [(t, sentence, kinds) for t in turns if t.side == CUSTOMER
            for sentence, kinds in dialogue.need_statements(t.text)]


def _needs(facts: FactList, turns: list[Turn]) -> None:
    for turn, sentence, kinds in _customer_needs(turns):
        text, sources = cite(turn, sentence)
        facts.add("call_needs", text, sources, label=NEED_LABELS.get(frozenset(kinds), "Need"))


# Whose need a customer stated, in the words a seller uses (the dialogue layer says self / other).
NEED_LABELS = {frozenset({"self"}): "Need", frozenset({"other"}): "Need · for their team",
               frozenset({"self", "other"}): "Need · for them and their team"}


def _coverage(facts: FactList, turns: list[Turn], playbook: Playbook, *, asked_who: bool) -> None:
    """Coverage on this call only: each element's utterance rules against the call's sentences. Rules on
    contacts, fields and emails describe the deal, not the call, so an element with none of its rules about
    what is said is left out rather than reported as missed. When the seller asked who decides and got no name,
    the improvement says to get the name; asking "who signs?" again is no gap question."""
    for element in playbook.elements:
        rules = [r for r in element.evidence if r.source == "utterance"]
        if not rules:
            continue
        found = _element_evidence(rules, turns)
        if found:
            text, sources = cite(*found)
            facts.add("coverage", text, sources, label=f"{element.name} · covered on this call",
                      playbook_element=element.key)
            continue
        # A question with a name-like word in it ("Besides you, who signs?") would need a source to pass the
        # verifier's facts check; the element's other questions ask the same thing.
        question = next((q for q in element.questions if not claim_facts(q)
                         and not (asked_who and dialogue.asks_who_decides(q))), None)
        if question:
            facts.add("coverage_gaps", question, [], label=f"{element.name} · not covered on this call",
                      playbook_element=element.key)


def _element_evidence(rules, turns: list[Turn]) -> tuple[Turn, str] | None:
    for rule in rules:
        for turn in turns:
            if rule.speaker != "any" and turn.side != rule.speaker:
                continue
            for sentence in sentences(turn.text):
                if sentence.endswith("?"):
                    continue  # asking about an element is not evidence of it (as in playbooks/service.py)
                if rule.matches(sentence):
                    return turn, sentence
    return None


def _roleplay(facts: FactList, handlings: list[Handling]) -> None:
    """One practice question per objection raised, the unanswered ones first. The wording around the quote is
    the agent's own; the quote is the customer's, cited, so every name and number in it is checked."""
    for h in sorted(handlings, key=lambda h: h.handled):
        category = OBJECTION_LABELS.get(h.category, h.category.capitalize())
        quoted, sources = cite(h.objection)
        if not h.handled:
            ask = "what do you answer, and which question do you ask back?"
        elif h.how == "answer":
            ask = "which proof or reference would you add to your answer?"
        else:
            ask = "how else could you answer, and which question would you ask back?"
        facts.add("roleplay", f"When {quoted.replace(': ', ' says ', 1)}, {ask}", sources,
                  label=f"Role-play · {category} objection")
