"""Coaching on one call: how the seller ran it, what the customer pushed back on and how it was answered, and
what to practise.

Sections:
- call_stats: talk ratio, questions asked, questions about what the customer wants, the longest monologue and
  whether a next step was secured;
- improvements: what to do differently, each citing the moments of the call it is about;
- strengths: what went well, cited the same way;
- call_objections: every objection the customer raised, in their words, labelled with whether and how the
  seller answered it;
- call_needs: needs the customer stated;
- coverage / coverage_gaps: the playbook elements this call produced evidence for, and a question for each
  element it did not;
- roleplay: practice questions built from the objections actually raised.

How the figures stay honest: every item's text is made of the quoted words of the turns it cites (so the
verifier finds all of it in the quotes), and what code computed from the call (percentages, counts, seconds, a
verdict such as "not answered") goes in the item's `label`, which is written by code from constants and never
holds evidence text. The detectors are in evidence/dialogue.py and are measured in docs/EVALUATION.md.
"""
from __future__ import annotations

from sqlalchemy.orm import Session

from sellerloop.agents.models import Subject
from sellerloop.agents.prep import OBJECTION_LABELS
from sellerloop.composers.base import Brief, FactList, Section
from sellerloop.evidence import dialogue
from sellerloop.evidence.conversation import sentences
from sellerloop.evidence.dialogue import CUSTOMER, SELLER, Handling, Turn
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
HOW_HANDLED = {"evidence": "answered with proof", "concession": "answered with a concession",
               "question": "answered with a question", "answer": "answered",
               "acknowledged": "acknowledged, not answered", "deferred": "put off by the seller",
               "ignored": "not answered"}


def gather(*, session: Session, transcript: Transcript, playbook: Playbook, owners: set[str] | None) -> Brief:
    call = dialogue.call_turns(session=session, transcript=transcript)
    turns = call.turns
    facts = FactList()
    if turns:
        handlings = dialogue.objection_handling(turns)
        _call_stats(facts, call, turns)
        _improvements(facts, turns, handlings)
        _strengths(facts, turns, handlings)
        _objections(facts, handlings)
        _needs(facts, turns)
        _coverage(facts, turns, playbook)
        _roleplay(facts, handlings)
    subject = (Subject(type="opportunity", id=transcript.opportunity_id) if transcript.opportunity_id
               else Subject(type="transcript", id=transcript.id))
    return Brief(use_case="coaching", subject=subject, subject_name=transcript.title,
                 inputs={"transcript": transcript.id}, playbook=playbook.key, sections=SECTIONS, facts=facts)


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


def _call_stats(facts: FactList, call: dialogue.CallTurns, turns: list[Turn]) -> None:
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
    if preference:
        text, sources = cite_all(*preference[:2])
        facts.add("call_stats", text, sources,
                  label=f"Questions about what the customer wants or needs · {len(preference)}")

    run = dialogue.longest_monologue(turns)
    if run is not None:
        size = (f"{round(run.seconds)} seconds" if run.seconds is not None else f"{run.words} words")
        text, sources = cite_all(*((t, None) for t in run.turns[:2]))
        turns_said = f"{len(run.turns)} turns in a row" if len(run.turns) > 1 else "one turn"
        facts.add("call_stats", text, sources, label=f"Longest monologue · {run.side}, {turns_said}, {size}")

    steps = dialogue.next_steps(turns)
    if steps:
        dated = [s for s in steps if s.dated]
        pool = dated or steps
        # The last step each side took on: who does what is the outcome of the call.
        chosen = sorted({s.turn.side: s for s in pool}.values(), key=lambda s: s.turn.seq)
        text, sources = cite_all(*((s.turn, s.sentence) for s in chosen))
        facts.add("call_stats", text, sources,
                  label="Next step · secured, with a date" if dated
                  else "Next step · agreed, but without a date")
    else:
        text, sources = cite_all(*((t, None) for t in turns[-2:]))
        facts.add("call_stats", text, sources, label="Next step · none agreed at the end of the call")


def _improvements(facts: FactList, turns: list[Turn], handlings: list[Handling]) -> None:
    add = facts.add
    # Objections left unanswered first: they are what most often stalls a deal after the call.
    for h in handlings:
        if h.handled:
            continue
        category = OBJECTION_LABELS.get(h.category, h.category.capitalize())
        parts = [(h.objection, None)] + ([(h.reply, None)] if h.reply else [])
        text, sources = cite_all(*parts)
        advice = {"deferred": "answer it before moving on",
                  "acknowledged": "acknowledging is a start; answer it too",
                  "ignored": "answer it when it is raised"}[h.how]
        add("improvements", text, sources, label=f"{category} objection {HOW_HANDLED[h.how]} · {advice}")

    steps = dialogue.next_steps(turns)
    if not steps:
        text, sources = cite_all(*((t, None) for t in turns[-2:]))
        add("improvements", text, sources,
            label="No next step agreed · close with a dated next step: who does what, by when")
    elif not any(s.dated for s in steps):
        text, sources = cite_all(*((s.turn, s.sentence) for s in steps[:1]))
        add("improvements", text, sources,
            label="Next step without a date · agree on the day before hanging up")

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
            label="No question about what matters most to the customer · they stated this need; "
                  "ask what else they need and why")


def _strengths(facts: FactList, turns: list[Turn], handlings: list[Handling]) -> None:
    for h in handlings:
        if h.how in ("evidence", "concession", "question"):
            category = OBJECTION_LABELS.get(h.category, h.category.capitalize())
            text, sources = cite_all((h.objection, None), (h.reply, None))
            facts.add("strengths", text, sources, label=f"{category} objection {HOW_HANDLED[h.how]}")
    preference = [(t, q) for t in turns if t.side == SELLER for q in dialogue.preference_questions(t.text)]
    if preference:
        text, sources = cite(*preference[0])
        facts.add("strengths", text, sources, label="Asked what the customer wants or needs")
    steps = [s for s in dialogue.next_steps(turns) if s.dated]
    if steps:
        text, sources = cite(steps[0].turn, steps[0].sentence)
        facts.add("strengths", text, sources, label="Secured a dated next step")


def _objections(facts: FactList, handlings: list[Handling]) -> None:
    # Unanswered ones first: they are what the next call has to deal with.
    for h in sorted(handlings, key=lambda h: h.handled):
        category = OBJECTION_LABELS.get(h.category, h.category.capitalize())
        text, sources = cite(h.objection)
        facts.add("call_objections", text, sources, label=f"{category} · {HOW_HANDLED[h.how]}")


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


def _coverage(facts: FactList, turns: list[Turn], playbook: Playbook) -> None:
    """Coverage on this call only: each element's utterance rules against the call's sentences. Rules on
    contacts, fields and emails describe the deal, not the call, so an element with none of its rules about
    what is said is left out rather than reported as missed."""
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
        question = next((q for q in element.questions if not claim_facts(q)), None)
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
