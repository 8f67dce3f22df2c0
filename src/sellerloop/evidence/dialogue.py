"""How a conversation went: who talked, who asked, what each side said it needs, and what the seller did when
the customer pushed back. The detectors behind coaching (agents/coaching.py).

Every detector is a plain function over text or over `Turn`s (one utterance each), written for ordinary sales
and negotiation language, not for the sample layer's templates. They are measured on the strategy labels of
the CaSiNo negotiation corpus (`bench/evaluate_casino.py`, results in docs/EVALUATION.md), and they lean
towards precision: coaching that tells a seller "you never asked what they need" when they did is worse than
coaching that misses one such question.

- `is_question`, `question_kind`: a sentence that asks something, with or without a "?" ("Tell me about your
  process" is a question; "How about I take two" without a "?" is a proposal), open or closed;
- `elicits_preference`, `preference_questions`: asking what the other side wants, needs, values or prefers;
- `need_kinds`, `need_statements`: the speaker stating their own need ("self") or that of people on their side
  ("other");
- `acknowledges`: the listener acknowledging or empathising ("I understand", "Sorry to hear that");
- `talk_ratio`, `longest_monologue`: share of the talking (time, else words) per side, and the longest run of
  consecutive turns by one speaker;
- `objection_handling`: after a customer objection (or a competitor the customer names), what the seller did
  within the next turns (proof, a concession, a question about it, another answer; or only an acknowledgement,
  a deferral, nothing); a reply counts only when it is about the objection (`addresses`), a question that is
  not puts it off, and a concession is `traded` when something is asked back;
- `next_steps`: dated or concrete commitments to a next step near the end of the call, and agreed terms
  (evidence/commitments.py) anywhere in it; a close date moving later (`slips`) is no step;
- `unresolved_who`: the seller asked who signs or decides and the answer named nobody;
- `is_sales_call`: whether the conversation is about buying something at all.

`call_turns` reads a stored transcript into turns with sides; the rest never touches the store.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from sellerloop.evidence.commitments import AGREED, find_commitments
from sellerloop.evidence.conversation import Statement, objection_category, sentences, transcript_span_uri
from sellerloop.evidence.words import content_words  # the verifier's words, so both sides agree
from sellerloop.records.models import Opportunity, Transcript, User, Utterance

SELLER, CUSTOMER = "seller", "customer"
_I = re.IGNORECASE  # every pattern here ignores case: people type "i need" as often as "I need"


@dataclass(frozen=True)
class Turn:
    """One utterance of a call, with the side its speaker is on and the URI that cites it."""

    seq: int
    speaker: str
    text: str
    side: str  # SELLER or CUSTOMER
    start_s: float | None = None
    end_s: float | None = None
    uri: str = ""

    @property
    def quote(self) -> str:
        """The words a citation of this turn quotes: "Speaker: text", verbatim in the transcript's line."""
        return f"{self.speaker}: {self.text}"

    @property
    def words(self) -> int:
        return len(_WORD.findall(self.text))

    @property
    def seconds(self) -> float | None:
        if self.start_s is None or self.end_s is None or self.end_s < self.start_s:
            return None
        return self.end_s - self.start_s


_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")


# ------------------------------------------------------------------------------------------------ questions

# Discourse openers that may precede a question's first word: "So, what happens next", "Okay and how ...".
_OPENERS = (r"(?:(?:so|and|but|ok(?:ay)?|well|great|cool|alright|all right|right|now|also|then|oh|hmm+|ah|"
            r"yes|yeah|sure|perfect|wonderful|awesome|nice|thanks|thank you|hi|hello|hey|just curious|"
            r"out of curiosity|first|quickly|one more thing|last question)[,!.:;-]?\s+)*")
_WH = r"(?:what|which|who|whom|whose|where|when|why|how)"
_AUX = (r"(?:is|are|was|were|do|does|did|can|could|would|will|should|shall|may|might|have|has|had|am|"
        r"won't|can't)")
_SUBJECT = (r"(?:i|you|we|they|he|she|it|there|that|this|these|those|anyone|anybody|someone|somebody|"
            r"everyone|anything|something|your|our|the|u)")
# Without a "?", a sentence is a question only in the forms that cannot be statements: a wh-word followed by a
# verb or quantifier ("What is", "How many") - "What we need is..." and "When I was a kid" are statements -
# and an auxiliary before its subject ("Do you", "Is there", "Can we").
_INTERROGATIVE = re.compile(
    rf"^{_OPENERS}(?:{_WH}(?:'s|'re|'d|'ll)?\s+(?:{_AUX}(?:n't|'t)?\b|many\b|much\b|long\b|often\b|soon\b|"
    rf"far\b|else\b|exactly\b|kind\b|sort\b|type\b)|{_WH}'s\b|{_AUX}(?:n't)?\s+{_SUBJECT}\b)", _I)
# Requests for information phrased as statements: in a sales call these are the open questions trainers teach.
# "Let me know if you have questions" is a courtesy, not a question, so only "let me know what/which/how".
_ELICITING = re.compile(
    rf"^{_OPENERS}(?:(?:can you |could you |would you |please )*(?:tell|walk|talk|take) (?:me|us) (?:about|"
    r"through|more|how|what|why|where|when|who|a bit|a little|briefly)|help me understand|"
    r"(?:please )?(?:describe|explain)\b|i(?:'d| would) (?:love|like) to (?:hear|know|understand|learn)\b|"
    r"i'?m (?:curious|wondering)\b|i am (?:curious|wondering)\b|i wonder(?:ed)? (?:if|whether|what|how|why|"
    r"who)\b|let me know (?:what|which|how|when|who|whether)\b)", _I)
# "How about I take two firewood" without a "?": a proposal, however it starts.
_PROPOSAL = re.compile(rf"^{_OPENERS}(?:how|what) (?:about|bout|if)\b", _I)
# A "?" may be followed by closing quotes, brackets, emoticons or emoji before the sentence ends.
_ENDS_WITH_QUESTION_MARK = re.compile(r"\?[\s\"'”’)\]:;(^\-_.!?\W]*$")
_OPEN_START = re.compile(rf"^{_OPENERS}(?:(?:what|which|who|whom|whose|where|when|why|how)\b(?!\s+(?:about|"
                         rf"bout|"
                         r"if)\b)|(?:can you |could you |would you |please )*(?:tell|walk|talk|take) (?:me|"
                         r"us)\b|help me understand|describe|explain|i(?:'d| would) (?:love|like) to|"
                         r"i'?m curious|i wonder)", _I)


# "So do I.", "Neither do we": agreement, shaped like a question.
_ELLIPSIS = re.compile(r"^(?:so|neither|nor)\s+(?:do|does|did|am|are|is|have|has|can|will|would|was|were)\s+"
                       r"(?:i|we|they)\b\s*(?:[,.!;]|$)", _I)


def is_question(sentence: str) -> bool:
    """Does the sentence ask something? Ends with "?", or has a question's form without one."""
    text = sentence.strip()
    if not text:
        return False
    if _ENDS_WITH_QUESTION_MARK.search(text):
        return True
    if _PROPOSAL.match(text) or _ELLIPSIS.match(text):
        return False
    return bool(_INTERROGATIVE.match(text) or _ELICITING.match(text))


def question_kind(sentence: str) -> str | None:
    """"open" (cannot be answered yes or no: what, how, why, tell me about...), "closed", or None when the
    sentence is no question. Sales training counts open questions because they get the customer talking."""
    if not is_question(sentence):
        return None
    return "open" if _OPEN_START.match(sentence.strip()) else "closed"


def questions_in(text: str) -> list[str]:
    return [s for s in sentences(text) if is_question(s)]


# ----------------------------------------------------------------------------------- preference elicitation

_YOU = r"(?:you|your|yours|you're|youre|you'd|you've|yourself|y'all|u|ur)"
# What a person wants, needs or values, in the words people use when they ask about it.
_PREFERENCE = (
    r"(?:needs?|needed|needing|want|wants|wanted|wanting|prefer|prefers|preferred|preferences?|priorit(?:y|"
    r"ies|ize|ise)|important|importance|matters?|value|values|valued|care|interested|interest|looking for|"
    r"looking to|hoping|hope|would like|'d like|like to have|require|requires|requirements?|must[- ]haves?|"
    r"non[- ]negotiable|goals?|criteria|success|ideal|ideally|wish|feel about|useful|focus|focused|reasons?)")
# The preference word and "you" close together (at most four words apart), so "water is important for me, how
# about you get three food?" - a proposal after one's own preference - is not taken for asking theirs.
_ASKS_THEIRS = re.compile(rf"\b{_YOU}\b(?:\W+\w+){{0,4}}?\W+{_PREFERENCE}\b|"
                          rf"\b{_PREFERENCE}\b(?:\W+\w+){{0,4}}?\W+{_YOU}\b", _I)
# Offers ("Do you want me to send it?", "Would you like me to...") ask about the seller's next move, not about
# what the customer values; "if you need anything" is a courtesy; "Do you want to make a deal?" and "Would you
# be interested in a trade?" are proposals.
_OFFER = re.compile(r"\b(?:want|like|need) (?:me|us) to\b|\bif you (?:need|want|have)\b|\bin case you\b|"
                    r"\b(?:want|like|care) to (?:make|do|agree|accept|trade|deal|split|go|finali[sz]e|start|"
                    r"hear|see|meet|talk|chat|try|move|continue|proceed|counter|take|have a look|jump)\b|"
                    r"\binterested in (?:a|an|the|this|that|my|our) (?:trade|deal|offer|exchange|proposal|"
                    r"swap|arrangement|pilot|demo|discount)\b|"
                    # "How would you feel about giving me...": a proposal; "Are you sure you need all
                    # three?": a challenge; "So you need 3 water?": checking terms, not asking what matters.
                    r"\b(?:feel|think) about (?:giving|taking|me|us|if|doing|trading|letting|this|that)\b|"
                    r"\bare you sure\b|^(?:so |ok(?:ay)?,? )?you (?:need|want|said|mentioned)\b|"
                    r"\bif (?:i|we) (?:take|get|give|have)\b", _I)
# "..., how about you get three food and I take the water?": a proposal after a comma (but "..., how about
# you?" at the end asks them back).
_INNER_PROPOSAL = re.compile(r"(?:[,;]\s*|\b(?:so|then)\s+)(?:how|what) (?:about|bout|if) (?:i|we|you|me|u)\b"
                             r"(?!\s*\??\s*\W*$)", _I)
# "And you?", "How about you?", "What's yours?": after stating one's own needs, asking for theirs.
_RECIPROCAL = re.compile(rf"(?:^{_OPENERS}|,\s*)(?:and |how |what |what's |what is )?(?:about |"
                         rf"bout )?(?:for )?"
                         r"(?:you|yourself|yours|u)\s*(?:guys|all)?\s*\??\s*\W*$", _I)


def elicits_preference(sentence: str) -> bool:
    """Does the sentence ask the other side what they want, need, value or prefer? A question (see
    is_question) that is not a proposal ("How about you take two?") or an offer, with "you" and a word for a
    want or a need a few words apart: "What matters most to you?", "Why do you need the firewood?", "Is
    security a must-have for your team?". The reciprocal "And you?" counts only after the asker's own need
    (see preference_questions)."""
    text = sentence.strip()
    if not is_question(text) or _PROPOSAL.match(text) or _INNER_PROPOSAL.search(text) or _OFFER.search(text):
        return False
    return bool(_ASKS_THEIRS.search(text))


def preference_questions(text: str) -> list[str]:
    """The sentences of one turn that ask for the other side's preferences. "How about you?" is small talk
    after "I'm fine", and a question about their needs after "I need the water most"."""
    parts = sentences(text)
    found = []
    for index, sentence in enumerate(parts):
        if elicits_preference(sentence) or (reciprocal := _RECIPROCAL.search(sentence.strip())) and any(
                need_kinds(p) or _STATED_PREFERENCE.search(p)
                for p in [*parts[:index], sentence.strip()[:reciprocal.start()]] if p):
            found.append(sentence)
    return found


# "My priority is", "I prefer", "X is most important to me": one's own preference, which the reciprocal
# question then asks the other side to match.
_STATED_PREFERENCE = re.compile(r"\b(?:i|we)(?:'d| would)? (?:really |most |mostly |also )?(?:prefer|want|"
                                r"like|value|need)\b|\b(?:my|our) (?:\w+ )?(?:priority|preference|need|"
                                r"choice)\b|\b(?:important|essential) (?:to|for) (?:me|us)\b", _I)


# ------------------------------------------------------------------------------------------ need statements

_ADVERBS = (r"(?:\s+(?:really|also|definitely|absolutely|just|still|truly|desperately|actually|mostly|mainly|"
            r"especially|kinda|kind of|sure|too|both|all|only|certainly|do|would|will|probably|greatly|"
            r"seriously|very much|badly|honestly|personally|urgently|mostly|primarily|first|then|now|"
            r"currently|therefore|so|obviously|clearly|always))*")
# "I need to check with my boss" is about the next move, not about what the speaker values.
_NOT_A_NEED = (r"(?!\s+to\s+(?:check|ask|talk|speak|think|confirm|run|see|look|discuss|consult|get back|go|"
               r"leave|know|find out|make sure|double[- ]check|clarify|say|tell|mention|point out|be honest|"
               r"admit|decide|figure|sleep on|review))")
_SELF_NEED = re.compile(
    # I/we (really) need, could use, require, rely on ...
    rf"\b(?:i|we|i'll|we'll|i'd|we'd|i'm going to|we're going to|i am going to|we are going to|i'm gonna|"
    rf"we're gonna)\b{_ADVERBS}\s+(?:need|needs|require|could use|could really use|"
    rf"can't do without|cannot do without|can't go without|rely on|depend on){_NOT_A_NEED}\b"
    # our main need / my top priority is ...
    r"|\b(?:my|our)\s+(?:(?:main|biggest|top|first|highest|primary|most important|greatest|number one|#1|"
    r"only|real|key|big|major|greater|bigger|immediate|current|second|secondary|first)\s+)*(?:needs?|"
    r"priorit(?:y|ies)|requirements?|must[- ]haves?|preferences?|goals?)\s+(?:is|are|was|would be|will be|"
    r"right now|here)\b"
    # ... is (very) important / essential / a priority to me
    r"|\b(?:is|are|would be|will be|'s|'re)\s+(?:(?:very|really|most|more|extremely|super|so|the most|also|"
    r"quite|absolutely|definitely|pretty|critically|especially|an?|my|our|top|high|higher|highest|big|"
    r"the)\s+)*(?:important|crucial|essential|critical|vital|necessary|a must|priority|necessity|"
    r"non[- ]negotiable|key)(?:\s+(?:thing|item|one|part|factor|issue))?\s+(?:to|for)\s+(?:me|us|my|our)\b"
    # in (dire) need of ...
    r"|\bin\s+(?:(?:dire|great|desperate|real|serious|urgent|big)\s+)?need\s+of\b"
    # I'm running low on / short on ...
    r"|\b(?:i|we)(?:'m|'re| am| are)\s+(?:(?:running|really|very|a bit|pretty|already|quite|so)\s+)*"
    r"(?:low on|short on|out of|running out|lacking)\b"
    # X is non-negotiable / a must-have (a requirement is a need, stated as the customer's criteria)
    r"|\b(?:is|are)\s+(?:(?:absolutely|really|just|simply|also)\s+)?(?:non[- ]negotiable|"
    r"an? (?:absolute |hard )?(?:must[- ]have|requirement)|must[- ]haves|a deal[- ]?breaker)\b"
    # what we need (most) is / what matters to us is
    r"|\bwhat (?:i|we) (?:really |most |mostly |actually )?(?:need|want|require|care about|value)\s+"
    r"(?:(?:most|more|now|here|right now|the most)\s+)?(?:is|are)\b"
    r"|\bwhat matters (?:most )?(?:to|for) (?:me|us)\b"
    # we're looking for ...
    r"|\b(?:i|we)(?:'m|'re| am| are)\s+(?:(?:mainly|really|mostly|primarily|just|actually)\s+)?looking for\b",
    _I)
# A need that is only hypothetical ("if we need more", "in case I need") is not stated.
# A want becomes a need when its reason comes with it ("I'd like the firewood because it gets cold at night",
# "we want this live before the audit so we can ..."); without a reason it is a preference or an ask.
_WANT = re.compile(rf"\b(?:i|we)(?:'d|'m|'re| would| am| are| was| were)?{_ADVERBS}\s+(?:want|wanted|like|"
                   rf"love|prefer|"
                   r"hope|hoping|hoped|wish|(?:most |mainly |more |"
                   r"really )?interested in)\b(?!\s+to\s+(?:propose|offer|suggest|say|ask|know|hear|thank|"
                   r"trade|give|make (?:a|the|this) deal|counter|start|see if|check|confirm))", _I)
_HYPOTHETICAL = re.compile(r"\b(?:if|in case|unless|whether|when|once|should)\s+(?:i|we)\b[^.!?]{0,25}\bneed",
                           _I)
# People on the speaker's side: family and group in a camp negotiation, team and colleagues in a sale.
_THEIR_PEOPLE = (
    r"(?:kids?|children|child|family|families|son|sons|daughter|daughters|wife|husband|spouse|partner|group|"
    r"team|teams|friends?|people|users|staff|employees|customers|clients|boss|manager|managers|brother|"
    r"brothers|sister|sisters|mom|mother|dad|father|parents|grandparents|crew|guests|engineers|department|"
    r"leadership|colleagues|coworkers|co-workers|baby|babies|toddlers?|nephews?|nieces?|cousins?|girlfriend|"
    r"boyfriend|fianc[eé]e?|roommates?|scouts|troop|campers|members|grandma|grandpa|uncle|aunt|relatives|"
    r"in-laws|board|cfo|ceo|cto|cio|executives|reps|agents|analysts|admins|developers|nurses|doctors|"
    r"technicians|dog|dogs|pets?|puppy|guys|household|party|folks|companions|buddies|mates|hubby|elders|"
    r"grandkids|grandchildren|students|class|youngsters|little ones|loved ones|whole camp|everyone)")
_OTHER_NEED = re.compile(
    # my family needs / our users need / the kids need / they need / for my kids
    rf"\b(?:(?:my|our|the)\s+(?:\w+\s+)?{_THEIR_PEOPLE}|they|he|she|everyone|everybody)\b(?:\s+(?:all|both|"
    rf"really|also|definitely|will|would|do|does|just|still|especially|each))*\s+(?:need|needs|require|"
    rf"requires|could use|rely on|relies on|depend on|depends on|must have|can't do without|get (?:cold|"
    rf"hungry|thirsty)|gets (?:cold|hungry|thirsty)|are (?:always )?(?:hungry|thirsty|cold)|"
    rf"is (?:always )?(?:hungry|thirsty|cold)){_NOT_A_NEED}\b|\b(?:need|needs|require|could use|important|"
    rf"essential|necessary|crucial)\b[^.!?]{{0,60}}\bfor\s+(?:my|our)\s+(?:\w+\s+)?{_THEIR_PEOPLE}\b|"
    rf"\b(?:feed|keep|hydrate|warm)\s+(?:my|our)\s+(?:\w+\s+)?{_THEIR_PEOPLE}\b",
    _I)
# "all the water I need", "everything we need": a relative clause about having enough, not a need stated.
_RELATIVE = re.compile(r"\b(?:all|everything|anything|whatever|enough|more than|as much as|the \w+|what)\s*$",
                       _I)
_NEGATED = re.compile(r"\b(?:don't|dont|do not|doesn't|does not|didn't|won't|not|no|never|hardly|without)\s+"
                      r"(?:\w+\s+){0,2}(?:need|needs|require|use)\b", _I)


_QUANTITY = re.compile(
    r"^(?:\s+(?:at least|at most|about|around|only|just|maybe|like|more than|a minimum of|of|the|all of the|"
    r"all the|all|both|every|each|half|extra))*\s+(?:\d+|one|two|three|four|five|six|all|both|half|"
    r"everything|the (?:most|rest|majority))\b", _I)
# What turns a demand into a need: why it matters ("because it gets cold", "so the team can close the books").
# A need inside an offer ("I need the firewood, you can have all the water") is a bargaining position too.
_OFFER_TERMS = re.compile(r"\b(?:\d+|you can (?:have|take|keep)|i(?:'ll| will) (?:give|take|trade)|"
                          r"in exchange|for me and)\b", _I)
_REASON = re.compile(r"\b(?:because|cause|since|as (?:i|we|my|our|it|they|there)|so that|so (?:i|we|my|our|"
                     r"they)|due to|otherwise|in order to|in case|to (?:keep|stay|cook|survive|make|feed|"
                     r"get through|last|avoid|meet|hit|cover|support|handle|run|fix|stop|reduce|cut|save|"
                     r"remain|make sure|be (?:warm|safe|able|ready|compliant))|for (?:survival|\w+ing))\b",
                     _I)


def need_kinds(sentence: str) -> set[str]:
    """{"self"} when the speaker states their own need ("We really need the reports by Monday", "Water is the
    most important thing for me"), {"other"} for the needs of people on their side ("my team needs",
    "for my kids"), both, or nothing. Questions, negations ("we don't need") and hypotheticals ("if we need
    more") state no need, and neither does a bare position: "I need three of the firewood" is what the speaker
    asks for, not why; it counts only with its reason ("... because it gets cold at night"). That is the
    negotiation trainers' line between positions and interests, and a coach wants the interests."""
    text = sentence.strip()
    if not text or is_question(text):
        return set()
    kinds = set()
    match = _SELF_NEED.search(text)
    if match is None:
        want = _WANT.search(text)
        reason = _REASON.search(text, want.end()) if want else None
        match = want if reason else None
    position = bool(_QUANTITY.match(text[match.end():]) or _OFFER_TERMS.search(text)) if match else False
    if match and not _NEGATED.search(text[max(0, match.start() - 20):match.end()]) \
            and not _HYPOTHETICAL.search(text) \
            and not (position and not _REASON.search(text)) \
            and not _RELATIVE.search(text[:match.start()]):
        kinds.add("self")
    match = _OTHER_NEED.search(text)
    if match and not _NEGATED.search(text[max(0, match.start() - 20):match.end()]):
        kinds.add("other")
    return kinds


# The speaker naming people on their side: "my kids", "our users", "I have a large family", "there are five
# of us".
_PEOPLE_MENTION = re.compile(
    rf"\b(?:my|our)\s+(?:\w+\s+)?{_THEIR_PEOPLE}\b|\b(?:i|we) have (?:a |an |\d+ |two |three |four |five |"
    rf"six |several |some |many |a few |a lot of |lots of )?(?:\w+\s+)?{_THEIR_PEOPLE}\b|\b(?:with|"
    rf"for) (?:my|our|the) (?:\w+\s+)?{_THEIR_PEOPLE}\b|\b(?:\d+|two|three|four|five|six|seven|so many|a lot|"
    rf"many|all) of us\b|"
    r"\bmouths to feed\b|\bextra (?:people|person|guests)\b", _I)


def need_statements(text: str) -> list[tuple[str, set[str]]]:
    """The sentences of one turn that state a need, with their kinds (see need_kinds). A need stated in a turn
    that names people on the speaker's side ("I need more food. My kids eat a lot") is theirs as well."""
    parts = sentences(text)
    people = any(_PEOPLE_MENTION.search(s) for s in parts)
    found = []
    for sentence in parts:
        kinds = need_kinds(sentence)
        if kinds and people:
            kinds = kinds | {"other"}
        if kinds:
            found.append((sentence, kinds))
    return found


def states_need(sentence: str) -> bool:
    return bool(need_kinds(sentence))


# ------------------------------------------------------------------------------------------ acknowledgement

# What a listener says to show they heard a concern before answering it: the first move every
# objection-handling method teaches (and, in a negotiation, the "showing empathy" strategy). Not "that's
# fair" or "sounds reasonable": those judge an offer ("That sounds fair, deal"), they do not acknowledge a
# person. Not a bare "I'm sorry" either, which is as often a refusal ("Sorry, that won't work for me").
_ACKNOWLEDGE = re.compile(
    r"\bi (?:(?:completely|totally|fully|really|definitely|can|do|absolutely|certainly|truly|sure)\s+)*"
    # "I understand" alone or about the other's situation; not "as I understand it, I get two waters".
    r"(?:understand(?=\s*(?:[.,!;:)]|$|\s+(?:that|this|completely|totally|now|why|how|where|what you|"
    r"your (?:concern|situation|point|worry|worries|position|frustration|hesitation)|you\b)))|get (?:it|"
    r"that)|hear you|see why|see how|see where|see what you mean|feel (?:you|for you)|sympathi[sz]e|"
    r"appreciate you (?:telling|sharing|raising|flagging)|can imagine)(?!\s+(?:you|it) (?:i|we) get\b)|"
    r"\bsorry (?:to hear|about (?:that|your|the)|that (?:happened|you))\b|^(?:oh,? )?(?:no|dang|yikes|ouch|"
    r"aw+|ugh),? (?:that's|that is|not good)\b|^oh no\b|\b(?:that|it) (?:totally |completely |really |"
    r"certainly |definitely )?makes (?:total |perfect |complete )?sense\b|^makes sense\b|\b(?:that's|that is|"
    r"that sounds|sounds|that must be|must be) (?:(?:very|really|so|pretty|totally|completely|"
    r"quite)\s+)?(?:understandable|tough|hard|rough|terrible|awful|horrible|a shame|too bad|frustrating|"
    r"difficult|stressful|scary|a fair (?:point|concern|question)|a (?:good|valid|great) (?:point|concern|"
    r"question)|a common concern|a real concern)\b|^(?:completely|totally|fully|absolutely) understand\b|"
    r"^(?:understood|understandable)\b|\bfair (?:point|concern|question)\b|\b(?:valid) (?:point|concern)\b|"
    r"\bthanks for (?:telling|sharing|being (?:honest|upfront|open)|letting me know|raising|flagging)\b|"
    r"\bi can see (?:why|how|that)\b|\bi hear you\b",
    _I)


def acknowledges(sentence: str) -> bool:
    return bool(_ACKNOWLEDGE.search(sentence.strip()))


# ------------------------------------------------------------------------------------- talk and monologues


@dataclass(frozen=True)
class TalkRatio:
    words: dict[str, int]  # per side
    seconds: dict[str, float]  # per side; empty for untimed calls
    turns: dict[str, int]

    def share(self, side: str) -> float:
        """The side's share of the talking: by time when every turn is timed, else by words."""
        counts = self.seconds or self.words
        total = sum(counts.values())
        return counts.get(side, 0) / total if total else 0.0

    @property
    def by(self) -> str:
        return "time" if self.seconds else "words"


def talk_ratio(turns: Sequence[Turn]) -> TalkRatio:
    """Words, seconds and turns per side. Seconds count only when every turn has a duration: a share of the
    time computed from some turns would be a share of an unknown whole."""
    words: dict[str, int] = {}
    seconds: dict[str, float] = {}
    count: dict[str, int] = {}
    timed = bool(turns) and all(t.seconds is not None for t in turns)
    for t in turns:
        words[t.side] = words.get(t.side, 0) + t.words
        count[t.side] = count.get(t.side, 0) + 1
        if timed:
            seconds[t.side] = seconds.get(t.side, 0.0) + (t.seconds or 0.0)
    return TalkRatio(words, seconds, count)


@dataclass(frozen=True)
class Monologue:
    turns: tuple[Turn, ...]

    @property
    def speaker(self) -> str:
        return self.turns[0].speaker

    @property
    def side(self) -> str:
        return self.turns[0].side

    @property
    def words(self) -> int:
        return sum(t.words for t in self.turns)

    @property
    def seconds(self) -> float | None:
        first, last = self.turns[0], self.turns[-1]
        if first.start_s is None or last.end_s is None:
            return None
        return max(0.0, last.end_s - first.start_s)


def monologues(turns: Sequence[Turn]) -> list[Monologue]:
    """Runs of consecutive turns by one speaker: a transcript often splits one long speech into several
    utterances (a pause, a new caption), and what the listener experiences is the run."""
    runs: list[list[Turn]] = []
    for t in turns:
        if runs and runs[-1][-1].speaker == t.speaker:
            runs[-1].append(t)
        else:
            runs.append([t])
    return [Monologue(tuple(run)) for run in runs]


def longest_monologue(turns: Sequence[Turn], side: str | None = None) -> Monologue | None:
    """The longest run, by seconds when timed, else by words; only runs of `side` when given."""
    runs = [m for m in monologues(turns) if side is None or m.side == side]
    if not runs:
        return None
    return max(runs, key=lambda m: (m.seconds if m.seconds is not None else -1.0, m.words))


# ------------------------------------------------------------------------------------- objection handling

# Moves a seller makes after an objection, each found in the seller's reply. The patterns are the words
# sellers use; the order of HANDLING_ORDER below says which one names the reply when it makes several.
_DEFER = re.compile(
    r"\b(?:park (?:that|this|it)|come back to (?:that|this|it)|circle back|get back to (?:that|this|"
    r"it) later|take (?:that|this|it) offline|table (?:that|this)|parking lot|moving on|move on|keep going|"
    r"let's continue|(?:let me|i'll|i will) (?:show|cover|walk you through) (?:you )?(?:the next|"
    r"something else|another)|next (?:part|slide|topic) first|later in the (?:call|meeting)|"
    r"before we get (?:to|into) that|not (?:something|a topic) for today|another time|"
    r"let's not worry about)\b", _I)
_CONCEDE = re.compile(
    r"\b(?:discount|phased|phase (?:it|the)|spread (?:the )?payments?|payment (?:terms|plan)|"
    r"instal(?:l)?ments|lower (?:the )?(?:price|cost|fee)|bring (?:the \w+ |it |that )?(?:price |cost )?down|"
    r"reduce (?:the )?(?:price|cost|scope)|cheaper option|smaller (?:scope|package|start|team)|"
    r"start (?:smaller|small|with (?:the|a) (?:core|smaller|pilot))|pilot|free (?:trial|month|months|"
    r"onboarding)|at no (?:extra )?(?:cost|charge)|waive|we can (?:offer|include|extend|adjust|split|"
    r"throw in|match)|flexib(?:le|ility)|meet you (?:halfway|in the middle)|tie the scope|"
    r"concede|you can (?:have|take|keep)|i can (?:give you|spare|let you have))\b", _I)
_EVIDENCE = re.compile(
    r"\b(?:customers?|clients?|reference|case stud(?:y|ies)|certified|certification|soc ?2|iso ?27001|gdpr|"
    r"encrypt(?:ed|ion)|comparison|benchmark|proof|proven|track record|references|testimonial|"
    r"(?:i|we) can show|let me show you how|show (?:it|you) working|questionnaire|audit(?:ed)?|compliant|"
    r"payback|business case|roi\b|return on investment|integration plan|a similar rollout|"
    r"\d+(?:\.\d+)?\s*(?:%|percent|weeks|days|months|hours))\b", _I)
# An offer to act on the concern: "I'll set up a call with our security lead", "Let's map out a timeline".
_ACTION_OFFER = re.compile(r"\b(?:i'll|i will|we'll|we will|let's|let me|i can|we can|we could|what if we|"
                           r"how about we|happy to|our \w+ team (?:does|will|can))\b", _I)
# Right after an objection, "Fair enough." or "Good to know." acknowledges the concern (elsewhere, "that's
# fair" judges an offer, which is why acknowledges() leaves these out).
_REPLY_ACK = re.compile(r"^(?:that's |that is )?(?:fair|fair enough|good to know|noted|okay,? noted|"
                        r"(?:that's |that is )?a fair (?:point|concern))\b", _I)
# A question that points back at what was just said: "Can you say more about that?", "What's behind that
# concern?", "What would it take to change that?", "Why is that?". Not any "this" or "it": "What's the biggest
# problem you're trying to solve this year?" is the seller's next prepared question.
_REFERS_BACK = re.compile(
    r"\b(?:about|behind|driving|by|with|change|changes|cause[sd]?|mean by|solve|fix|address) (?:that|this|"
    r"it)\b(?!\s+(?:\w+ing|year|quarter|month|week|project|process)\b)|\bthat\s*\?|\bwhy (?:is|was) that\b|"
    r"\bhow so\b|\b(?:that|this|the|your) (?:concern|worry|issue|hesitation|reservation|objection)s?\b|"
    r"\bwhat would it take\b|\b(?:say|tell me|share) (?:a (?:bit|little) )?more\b|\bwhere does (?:that|"
    r"this) come from\b|\b(?:concede|agree|go along) (?:to|with) (?:that|this|it)\b", _I)
HANDLING_ORDER = ("evidence", "concession", "question", "answer", "deferred", "acknowledged", "ignored")
HANDLED = frozenset({"evidence", "concession", "question", "answer"})

# What a reply talks about when it is about an objection of each category: the words sellers answer them with.
# A reply with proof about something else ("We're SOC 2 certified" to a price objection) has not answered it.
_ON_TOPIC = {category: re.compile(rf"\b(?:{words})\b", _I) for category, words in {
    "price": r"prices?|pricing|costs?|budget\w*|pay\w*|phased|phases?|discount\w*|roi|return on investment|"
             r"business case|cheap\w*|afford\w*|spend\w*|invest\w*|quotes?|financ\w*|fees?|first year|"
             r"per (?:seat|user|month|year)",
    "timing": r"timeline|timing|rollout|roll-out|plan\w*|schedul\w*|phased|phases?|hours? a week|capacity|load|"
              r"busy|quarters?|months?|weeks?|start\w*|dates?|onboarding|heavy lifting|later|when|priorit\w*",
    "security": r"secur\w*|soc ?2|iso ?27001|certif\w*|encrypt\w*|data|reviews?|questionnaires?|complian\w*|gdpr|"
                r"ciso|privacy|regions?|audit\w*|pen(?:etration)? tests?",
    "competitor": r"compar\w*|versus|vs|win against|switch\w*|differen\w*|unlike|other vendors?|alternatives?|"
                  r"instead of|current (?:tool|setup|process|vendor|system)",
    "integration": r"integrat\w*|connectors?|api|configur\w*|set ?up|technical|architect\w*|implementation|"
                   r"services team|live in|effort|it team|migrat\w*",
    "authority": r"decision|decide\w*|approv\w*|sign\w*|board|committee|budget holder|introduc\w*|"
                 r"bring (?:them|him|her) in|meet\w*|business case|present\w*",
    "trust": r"references?|customers?|case stud\w*|proof|track record|guarantee\w*|pilot|trial|risks?|refund\w*|"
             r"testimonials?|reviews?|certif\w*",
    "need": r"value|needs?|problems?|pain|use case|roi|benefits?|outcomes?|results?|sav(?:e|es|ing|ings)",
}.items()}
# The objection detector files security and integration-effort concerns under "trust" (a risk the customer
# fears: conversation.OBJECTION_CATEGORIES), so a reply on either topic answers a trust objection.
_ON_TOPIC["trust"] = re.compile("|".join(_ON_TOPIC[c].pattern for c in ("trust", "security", "integration")), _I)
# Other names for the same categories (a learned objection model may use them).
_TOPIC_ALIASES = {"budget": "price", "status_quo": "competitor", "status quo": "competitor",
                  "skepticism": "trust", "value": "need"}
# A concession traded for something back: "if you sign this quarter", "in exchange for a two-year term".
_TRADE = re.compile(
    r"\b(?:if (?:you|your|we can get)|in exchange|in return|provided (?:that )?you|as long as you|"
    r"when you sign|against a|for a (?:longer|multi-year|two-year|three-year|\d+-year|\d+ year|bigger|larger) "
    r"(?:term|contract|commitment|order|deal)|(?:with|for) a (?:case study|reference|logo|testimonial)|"
    r"(?:would|could|can|will) you (?:be able to |like to |be willing to )?(?:sign|commit|agree|move|introduce|give|"
    r"do|finali[sz]e|close|accept)|in return for)\b", _I)


@dataclass(frozen=True)
class Handling:
    """What the seller did after one customer objection."""

    objection: Turn
    category: str  # the objection's category (a key of evidence.conversation.OBJECTION_CATEGORIES)
    how: str  # one of HANDLING_ORDER: the strongest move in the reply
    moves: tuple[str, ...]  # every move found in the reply
    reply: Turn | None  # the seller's reply, when there was one in time
    traded: bool = False  # a concession with something asked back ("if you sign this quarter")

    @property
    def handled(self) -> bool:
        return self.how in HANDLED


def addresses(reply: str, objection: str, category: str | None = None) -> bool:
    """Is the reply about the objection: it takes up its words ("integration", "Zentrix"), points back at it
    ("What's behind that?"), or talks about what objections of its category are about (a price objection met
    with the payment plan, a security one with the certification)? With no objection to compare, any reply is."""
    if not objection:
        return True
    if _shares_topic(reply, objection) or any(_REFERS_BACK.search(s) for s in sentences(reply)):
        return True
    topic = _ON_TOPIC.get(_TOPIC_ALIASES.get(category or "", category or ""))
    return bool(topic and topic.search(reply))


def trades(reply: str) -> bool:
    """Does the seller ask for something back for what they give ("if you sign this quarter")?"""
    return bool(_TRADE.search(reply))


def reply_moves(text: str, objection_text: str = "", category: str | None = None) -> tuple[str, ...]:
    """The moves in a seller's reply to an objection, strongest first (HANDLING_ORDER). Proof, a concession or an
    answer count only when the reply is about the objection (see addresses); a reply that is not, and asks
    something, changes the subject: the objection is put off ("deferred")."""
    parts = sentences(text)
    on_point = addresses(text, objection_text, category)
    moves: set[str] = set()
    if any(acknowledges(s) or _REPLY_ACK.match(s) for s in parts):
        moves.add("acknowledged")
    if _EVIDENCE.search(text) and on_point:
        moves.add("evidence")
    if _CONCEDE.search(text) and on_point:
        moves.add("concession")
    # A question answers an objection when it is about it: it refers back ("What's behind that?"), takes up
    # its words, or follows an acknowledgement. The seller's next prepared question is moving on.
    asks = [s for s in parts if is_question(s)]
    about_it = any(_REFERS_BACK.search(s) or _shares_topic(s, objection_text) for s in asks)
    if about_it or ("acknowledged" in moves and asks and on_point):
        moves.add("question")
    # A substantive reply: an offer to act on the concern, or words taken up from the objection ("integration",
    # "security"). Without either, a long reply is the seller carrying on with their own topic.
    if (_ACTION_OFFER.search(text) and on_point) or _shares_topic(text, objection_text):
        moves.add("answer")
    # A question that is not about the objection, with nothing else said about it, changes the subject: "Who
    # owns the budget?" after "Zentrix came in cheaper" is the seller's next prepared question.
    if _DEFER.search(text) or (asks and "question" not in moves
                               and not moves & {"evidence", "concession", "answer"}):
        moves.add("deferred")
    if "deferred" in moves:
        # "Let's keep going and come back to that" offers to act, but what it does is put the concern off;
        # only proof, a concession or a question outweighs a deferral.
        moves.discard("answer")
    return tuple(move for move in HANDLING_ORDER if move in moves)


def _shares_topic(reply: str, objection: str) -> bool:
    """Two content words in common, or one name ("Zentrix", "Workday": capitalised inside a sentence)."""
    if not objection:
        return False
    common = set(content_words(reply)) & set(content_words(objection))
    names = {word for name in _NAME.findall(objection) for word in content_words(name)}
    return len(common - _FILLER_WORDS) >= 2 or bool(common & names)


_NAME = re.compile(r"(?<=[\w,;:] )[A-Z][\w&-]+")
_FILLER_WORDS = frozenset({"think", "know", "really", "get", "got", "go", "going", "make", "want", "say",
                           "see", "like", "thing", "lot", "well", "right", "good", "sure", "team",
                           # courtesy, not a topic: "I understand, thank you for taking the time to help"
                           "understand", "help", "thank", "thanks", "time", "take", "appreciate"})

# Naming another vendor or today's tool is an objection to handle, asked for or not: "We're also talking to
# Corvane", "Zentrix came in cheaper", "we use Excel for this today", "other vendors".
_NOT_NAMES = r"(?!(?:The|This|That|It|We|Our|I|You|Your|They|Their|He|She|Some|Someone|Everyone|There)\b)"
_COMPETITOR = re.compile(
    r"(?i:\b(?:also|currently|already|now|still|been)?\s*(?:looking at|talking to|talking with|speaking (?:to|with)|"
    r"evaluating|considering|using|use|uses|had a demo from|got a (?:quote|proposal|demo) from|"
    r"in talks with|trialling|trialing|piloting|happy with))\s+" + _NOT_NAMES + r"(?P<name>[A-Z][\w&.-]+)"
    r"|(?:^|[,;]\s*|\b(?i:and|but|so)\s+)" + _NOT_NAMES + r"(?P<subject>[A-Z][\w&.-]+)\s+(?i:offered|quoted|"
    r"came in|is (?:cheaper|on the list|faster|better)|was cheaper|already has|has a connector|does (?:this|that))\b"
    r"|(?i:\b(?:other|another|a different|competing) (?:vendors?|providers?|suppliers?|tools?|solutions?|"
    r"options?|offers?)\b|\bcompetitors?\b|\bin the running\b)")


def mentions_competitor(sentence: str) -> bool:
    """Does the customer name another vendor, or the tool they use today? Questions ask; they mention nothing."""
    return not sentence.rstrip().endswith("?") and _COMPETITOR.search(sentence) is not None


# When the customer answers the seller's question, naming a topic is not pushing back: "Technical evaluation
# first, then a security review" describes their process, "It has to pass our security review" their criteria.
# Such an answer raises an objection only with a word of resistance or worry in the same sentence.
_PUSHBACK = re.compile(
    r"\b(?:worr(?:y|ied|ies)|concern(?:s|ed)?|problem|issue|tough|strict|not sure|can't|cannot|won't|don't|"
    r"doesn't|too|above|over|burned|bad|no room|frozen|stretched|prefer|offered|cheaper|lower|already|solid|"
    r"better|risk|risky|hard|difficult|expensive|afraid|however|but|unfortunately|honestly|to be honest|"
    r"skeptical|hesitant|nervous|not convinced|struggle|months of work|weeks)\b", _I)


def objection_handling(turns: Sequence[Turn], *, window: int = 3) -> list[Handling]:
    """Each customer objection and the seller's reply: the first seller turn among the next `window` turns
    (the customer may go on for a turn or two before the seller speaks). Nothing from the seller in that
    window is "ignored"; a reply that only acknowledges is "acknowledged"; one that puts the concern off
    ("let's park that") is "deferred"."""
    found = []
    for index, turn in enumerate(turns):
        if turn.side != CUSTOMER:
            continue
        before = turns[index - 1] if index > 0 else None
        answering = before is not None and before.side == SELLER and bool(questions_in(before.text))
        asked = before.text if before is not None and before.side == SELLER else ""
        said = sentences(turn.text)
        category = next((c for c in (objection_category(s, before=asked) for s in said
                                     if not answering or _PUSHBACK.search(s)) if c), None)
        if category is None and any(mentions_competitor(s) for s in said):
            category = "competitor"
        if category is None:
            continue
        reply = next((t for t in turns[index + 1:index + 1 + window] if t.side == SELLER), None)
        if reply is None:
            found.append(Handling(turn, category, "ignored", (), None))
            continue
        moves = reply_moves(reply.text, turn.text, category)
        found.append(Handling(turn, category, moves[0] if moves else "ignored", moves, reply,
                              "concession" in moves and trades(reply.text)))
    return found


# ------------------------------------------------------------------------------------------------ next steps

_MONTH = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|"
          r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)")
# When: a weekday, a date, a clock time, or a near relative day. "Soon" and "at some point" are not dates.
_WHEN = re.compile(
    rf"\b(?:(?:mon|tues|wednes|thurs|fri|satur|sun)day|{_MONTH}\.? \d{{1,2}}(?:st|nd|rd|th)?|\d{{1,2}}(?:st|"
    rf"nd|rd|th)? (?:of )?{_MONTH}\b|\d{{4}}-\d{{2}}-\d{{2}}|\d{{1,2}}/\d{{1,2}}(?:/\d{{2,4}})?|today|"
    rf"tonight|tomorrow|"
    r"next week|this week|end of (?:the |this |next )?(?:day|week|month)|(?:at|by) \d{1,2}(?::\d\d)?\s*(?:am|"
    r"pm)?|\d{1,2}(?::\d\d)?\s*(?:am|pm)|(?:this|next) (?:morning|afternoon|evening))\b", _I)
# A step someone takes: a commitment ("I'll send", "we will review") or an agreed meeting ("let's book").
_STEP = re.compile(
    r"\b(?:i'll|i will|we'll|we will|i'm going to|we're going to|i am going to|we are going to|let me|let's|"
    r"i can|we can|shall we|can we|(?:you|they) will|you'll|they'll|(?:he|she)'ll)\b", _I)
_MEETING = re.compile(
    r"\b(?:book|schedule|set up|setup|arrange|put|send|get|find|lock in|confirm)\b[^.!?]{0,40}\b(?:meeting|"
    r"call|demo|session|workshop|review|invite|invitation|follow[- ]up|time|slot|calendar|onsite|visit)\b",
    _I)
# "I'll send you more information" is a promise without a when; it counts as a next step only if it names a
# meeting. Promises that are wishes ("we'll see", "we'll think about it") are no step at all.
# A conditional ("If anything changes, I'll tell you") promises nothing unless the condition comes true.
_NOT_A_STEP = re.compile(r"\b(?:we'll see|i'll think|we'll think|let me think|let's see|let's hope|i'll try|"
                         r"let me know|we can talk later)\b|^(?:(?:and|but|so|well|okay|ok),? )?(?:if|unless|"
                         r"in case)\b",
                         _I)


# The customer moving the signature or the close: a risk to the deal, not a step forward, however dated ("we'll
# need to push signature to Q3", "procurement can't sign before August 2", "we're looking at June for signature").
_CLOSING = (r"(?:sign\w*|signature|clos(?:e|ing)|decision|decide|contract|go-live|go live|golive|launch|kick-?off|"
            r"purchase|deal|approv\w*|budget|commit\w*|start)")
_SLIP = re.compile(
    rf"\b(?:push|pushing|pushed|move|moving|moved|slip|slipping|slipped|delay|delaying|delayed|postpon\w*|bump|"
    rf"bumped|shift|shifted|defer|deferred|hold off|pause|paused)\b[^.!?]{{0,40}}\b{_CLOSING}\b|"
    rf"\b{_CLOSING}\b[^.!?]{{0,40}}\b(?:push\w*|moved?|moving|slip\w*|delay\w*|postpon\w*|on hold|back to|"
    rf"pushed back|later than planned)\b|"
    rf"\b(?:can['’]?t|cannot|can not|won['’]?t|will not|not (?:be able to|going to))\s+(?:\w+\s+){{0,2}}?"
    rf"{_CLOSING}\b[^.!?]{{0,30}}\b(?:before|until|till|this (?:quarter|month|year)|in time)\b|"
    rf"\blooking at\b[^.!?]{{0,40}}\bfor (?:signature|signing|the close|a decision)\b|"
    rf"\b(?:new|next) (?:fiscal|financial|budget) year\b|\bhave to (?:close|sign|wait) (?:then|until|till)\b",
    _I)


def slips(text: str) -> list[str]:
    """The sentences of a turn that move the close or the signature later."""
    return [sentence for sentence in sentences(text) if _SLIP.search(sentence) and not is_question(sentence)]


@dataclass(frozen=True)
class NextStep:
    turn: Turn
    sentence: str
    dated: bool  # names a day or time ("by Tuesday, March 21", "tomorrow at 10")
    agreed: Turn | None = None  # agreed terms: the other side's turn that accepted them ("Deal") or asked for them


def next_steps(turns: Sequence[Turn], *, tail: float = 0.35, min_tail_turns: int = 6) -> list[NextStep]:
    """Commitments to a next step in the last part of the call (its last `tail` share of turns, at least
    `min_tail_turns`): that is where a call's outcome is agreed; a promise in minute two is usually part of
    the discussion. A step is secured when it names a day or time, or books a meeting. Terms the other side
    accepted anywhere in the call (an offer met with "deal", an accepted Submit-Deal, a yes to an ask) close it. A date
    the close moves to is no step (see slips), nor is the seller taking that new date on ("Let's plan for
    August 2 then")."""
    start = max(0, min(len(turns) - min_tail_turns, int(len(turns) * (1 - tail))))
    tail_turns = turns[start:]
    found = [NextStep(tail_turns[index], sentence, kind == "dated")
             for index, sentence, kind in step_sentences([t.text for t in tail_turns])]
    return found + _agreed_terms(turns)


def step_sentences(texts: Sequence[str]) -> list[tuple[int, str, str]]:
    """(which text, the sentence, its step_kind) for each step in consecutive turns' texts; a dated sentence
    right after a turn that moves the close takes the new date on, so it is part of the slip, not a step."""
    found = []
    slipped = False
    for index, text in enumerate(texts):
        after_slip, slipped = slipped, bool(slips(text))
        for sentence in sentences(text):
            kind = step_kind(sentence)
            if kind is not None and not (after_slip and _WHEN.search(sentence)):
                found.append((index, sentence, kind))
    return found


def step_kind(sentence: str) -> str | None:
    """"dated" for a commitment to a step that names a day or time ("I'll send the proposal by Friday"),
    "meeting" for one that books a meeting without a date, None for anything else (a slip of the close date
    among it)."""
    if _SLIP.search(sentence) or (is_question(sentence) and not _MEETING.search(sentence)):
        return None
    if _NOT_A_STEP.search(sentence) or not _STEP.search(sentence):
        return None
    if _WHEN.search(sentence):
        return "dated"
    return "meeting" if _MEETING.search(sentence) else None


def _agreed_terms(turns: Sequence[Turn]) -> list[NextStep]:
    """Agreed terms anywhere in the call: a deal struck in the middle of a chat that then winds down with
    thanks is still the call's outcome. A customer's own pledge of an amount ("I'll do $20") is one too."""
    statements = [Statement(t.uri or f"call#{t.seq}", t.speaker, t.text, t.quote, None, t.side == CUSTOMER,
                            "transcript") for t in turns]
    by_statement = {id(statement): turn for statement, turn in zip(statements, turns)}
    return [NextStep(by_statement[id(c.statement)], c.sentence, c.when is not None,
                     by_statement.get(id(c.accepted_by), by_statement[id(c.statement)]))
            for c in find_commitments(statements)
            if c.settles_terms and (c.kind == AGREED or c.by_customer) and not _SLIP.search(c.sentence)]


# ------------------------------------------------------------------------------------- who decides, by name

# The seller asking who signs, approves, owns the budget or decides.
_WHO_ASK = re.compile(
    r"\bwho\b[^?]{0,60}?\b(?:sign\w*|signature|approv\w*|decid\w*|decision|budget|final (?:yes|say|call|word)|"
    r"buyer|authority)\b|\bwhose (?:decision|call|budget|sign-?off)\b", _I)
# Words with a capital that are no person's name.
_NOT_A_NAME = frozenset("""
    i i'm i'd i'll it it's that that's this these those we we're our the a an they their them he she you your my
    me mine there here probably either neither final good honestly well so yes no not anything finance procurement
    legal budget board leadership question hmm okay ok sure right great thanks mostly usually typically actually
    oh whoever someone somebody everyone nobody and but or if when then also just still maybe perhaps really
    ultimately technically basically frankly anyway monday tuesday wednesday thursday friday saturday sunday
    january february march april may june july august september october november december q1 q2 q3 q4 it
    let let's what who how why where which good great
""".split())
_PERSON = re.compile(r"\b[A-Z][a-z]+(?:[-'’][A-Z]?[a-z]+)?\b")
_SELF = re.compile(r"\b(?:i do|i sign|i am|i'm|me|myself|that's me|that would be me|it's me)\b", _I)


def names_someone(text: str) -> bool:
    """Does the answer name a person ("That would be Maria Lopez", "Priya signs"), or the speaker ("I do")?
    A role alone ("our CFO", "the board") names nobody: the seller still has to find out who."""
    return bool(_SELF.search(text)) or any(m[0].casefold() not in _NOT_A_NAME for m in _PERSON.finditer(text))


@dataclass(frozen=True)
class Unresolved:
    """The seller asked who decides and the customer's answer named nobody."""

    question: Turn
    sentence: str  # the question, verbatim
    answer: Turn | None  # the customer's next turn, if any


def unresolved_who(turns: Sequence[Turn], *, window: int = 2) -> list[Unresolved]:
    """Each seller question about who signs or decides that the customer's next turns (within `window`) answer
    without a name."""
    found = []
    for index, turn in enumerate(turns):
        if turn.side != SELLER:
            continue
        asked = next((q for q in questions_in(turn.text) if _WHO_ASK.search(q)), None)
        if asked is None:
            continue
        answers = [t for t in turns[index + 1:index + 1 + window] if t.side == CUSTOMER]
        if not any(names_someone(t.text) for t in answers):
            found.append(Unresolved(turn, asked, answers[0] if answers else None))
    return found


def asks_who_decides(sentence: str) -> bool:
    return bool(_WHO_ASK.search(sentence))


# ------------------------------------------------------------------------------------------- a sales call?

# What a conversation about buying something talks about. A campsite negotiation or a chat about donating to a
# charity has none of it, and the playbook's questions (who signs, what budget) make no sense there.
_PURCHASE = re.compile(
    r"\b(?:pric(?:e|es|ing)|quotes?|budget|contract|licen[cs]es?|seats|subscriptions?|renewal|procurement|vendors?|"
    r"proposal|demo|pilot|trial|implementation|onboarding|rollout|roll-out|purchase|invoices?|discount|roi|"
    r"business case|platform|software|integration|sla|pay(?:ment)?s? (?:terms|plan)|per (?:seat|user)|"
    r"go-live|go(?:es)? live|sign(?:ed|ing)? (?:off|the (?:contract|order|agreement))|order form|statement of work|"
    r"rfp|sandbox|solutions? engineer|security review|questionnaire|soc ?2|technical (?:session|evaluation)|"
    r"close date|payback|pays for itself|investment|signs? off|sign-off|reference customers?|requirements)\b", _I)
MIN_PURCHASE_WORDS = 2  # two different words: one "budget" or one "demo" in passing is no sales call


def is_sales_call(turns: Sequence[Turn]) -> bool:
    """Is the conversation about a purchase: at least MIN_PURCHASE_WORDS different words of buying and selling?"""
    seen = {m[0].casefold() for t in turns for m in _PURCHASE.finditer(t.text)}
    return len(seen) >= MIN_PURCHASE_WORDS


# ------------------------------------------------------------------------------------------------ the call


@dataclass
class CallTurns:
    turns: list[Turn]
    # How the seller side was told apart: "roles" (the import read each speaker's side off the labels),
    # "users" (speakers who are users of ours) or "first speaker" (nobody is, e.g. an imported chat: the one who
    # opens the conversation is taken as our side).
    sides_by: str = "users"
    sellers: set[str] = field(default_factory=set)


def call_turns(*, session: Session, transcript: Transcript) -> CallTurns:
    """The transcript's utterances as turns, each on the seller or the customer side. Sellers are speakers who
    are users of ours (by full name, or by first name for the deal's owner, as transcripts often write it).
    When no speaker is, the first speaker is taken as the seller: an imported chat or call between two outside
    parties still has a side to coach, and the person who opens a call is usually the one who set it up."""
    rows = session.scalars(select(Utterance).where(Utterance.transcript_id == transcript.id)
                           .order_by(Utterance.seq)).all()
    speakers = {u.speaker for u in rows}
    owner_id = None
    if transcript.opportunity_id:
        owner_id = session.scalar(select(Opportunity.owner_id)
                                  .where(Opportunity.id == transcript.opportunity_id))
    condition = User.name.in_(speakers)
    if owner_id is not None:
        condition = or_(condition, User.id == owner_id)
    names = {name.casefold() for name in session.scalars(select(User.name).where(condition))}
    names |= {name.split()[0] for name in names if name.split()}
    sellers = {s for s in speakers if s.strip().casefold() in names}
    sides_by = "users"
    if any(u.role is not None for u in rows):  # the import read sides off the labels: they settle it, no guess
        sellers = {u.speaker for u in rows if u.role == "seller"} | (
            sellers - {u.speaker for u in rows if u.role == "customer"})
        sides_by = "roles"
    opener = next((u.speaker for u in rows if u.role != "customer"), None)  # never a known customer
    if not sellers and opener is not None:
        sellers, sides_by = {opener}, "first speaker"
    turns = [Turn(u.seq, u.speaker, u.text, SELLER if u.speaker in sellers else CUSTOMER, u.start_s, u.end_s,
                  transcript_span_uri(u)) for u in rows]
    return CallTurns(turns, sides_by, sellers)


def turns_from_texts(pairs: Iterable[tuple[str, str]], sellers: set[str]) -> list[Turn]:
    """Turns from (speaker, text) pairs, for tests and for corpora read outside the store."""
    return [Turn(seq, speaker, text, SELLER if speaker in sellers else CUSTOMER)
            for seq, (speaker, text) in enumerate(pairs, start=1)]
