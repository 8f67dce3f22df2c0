"""Commitments: who promised what, by when, for how much, in the words they used; and whether the other side
agreed.

Three kinds (`Commitment.kind`):
- a promise (PROMISE): an undertaking that needs nobody's yes: "I'll send the proposal by Friday";
- an offer (OFFER): terms put to the other side, which bind nobody until they accept: "I will give you 3 food if
  you give me 3 water", "How about I take two firewood?", "We can do 10% off if you sign this month", "I'd be
  willing to donate $1", a CaSiNo "Submit-Deal". An offer that is rejected, countered or left unanswered stays
  an offer, and `find_commitments` leaves offers out unless asked (`offers=True`);
- an agreed term (AGREED): an offer the other side accepted ("deal", "sounds good", "that works for me", "ok
  I'll do that", an "Accept-Deal"), or a yes to the other side's ask: "Would you donate $1?" - "Yes, I'll
  donate $1", "Sure", "let's do 50 cents". Who agreed to what is `who` (who gives or does it) and the words that
  accepted are `accepted_by`.

A commitment is a sentence in which someone undertakes to do something after the call:
- in the first person: "I'll send the proposal by Friday", "we will set up the sandbox next week",
  "I'm going to loop in legal", "let me check with procurement and get back to you";
- for a named person, as recaps and meeting notes put it: "Next step: Helen Lopez to set up a meeting with the
  economic buyer by Monday, December 18", "Maria will present it to the board" (only names of people known
  on the deal count, so "Welcome to the call" is no commitment of a Mr Welcome).

Not commitments: plans and circumstances ("I will have my husband and my dog with me", "we'll use the water to
cook"); questions; conditionals ("If anything changes, I'll tell you"); proposals to the room
("Let's park that"); refusals ("we won't", "we will not"); states rather than actions ("we'll need a full
review", "we'll see"); and narration of the call itself ("let me show you the next part", "let me recap"),
unless a date says it happens later ("let me walk you through it on Friday").

By when: the first date of the sentence after the promise (a deadline after "by", "before", "until", "no
later than" is preferred), kept verbatim with its preposition ("by Monday, December 18") and resolved against
the date the words were said by `evidence.dates`, whose rules these are: "by Friday" is the first Friday after
the call, "next week" that week's Friday, "end of March" its last day. Without the call's date, only dates
that carry their year resolve; the others are kept as words with no due date, rather than guessed.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

from sellerloop.evidence.conversation import Statement, sentences
from sellerloop.evidence.dates import DateMention, date_mentions, resolve_due

PROMISE, OFFER, AGREED = "promise", "offer", "agreed"


@dataclass(frozen=True)
class Commitment:
    statement: Statement  # the utterance or message it was said in (its `source` is the citation)
    sentence: str  # the sentence of the statement's text that makes the promise, verbatim
    who: str  # who promised: the speaker, or the person the sentence names
    by_customer: bool
    what: str  # the promised action, verbatim: "send the security questionnaire"
    when: str | None  # the time words, verbatim: "by Monday, December 18"; None when no time was given
    due: dt.date | None  # `when` resolved against the date of the call; None when it cannot be
    kind: str = PROMISE  # PROMISE, OFFER or AGREED (the module's docstring)
    amount: str | None = None  # the money or quantity in the terms, verbatim: "$1", "3 food", "10%"
    accepted_by: Statement | None = None  # AGREED: the other side's words that accepted the offer, or the ask

    @property
    def needs_call_date(self) -> bool:
        """True when `when` is relative ("by Friday"), so `due` depends on the day it was said."""
        return self.when is not None and resolve_due(self.when, None) is None

    @property
    def settles_terms(self) -> bool:
        """Agreed terms, or a pledge of an amount that needs no yes ("I'll do $20"): what a deal closes on."""
        return self.kind == AGREED or (self.kind == PROMISE and self.amount is not None and self.when is None)

    @property
    def binding(self) -> bool:
        """A promise or an agreed term: something someone is now expected to do."""
        return self.kind != OFFER


# --- the promise ------------------------------------------------------------------------------------------

_FIRST_PERSON = re.compile(
    r"(?<![\w'’])(?:(?:I|we)(?:['’]ll|\s+will|\s+shall|['’]m\s+going\s+to|\s+am\s+going\s+to"
    r"|['’]re\s+going\s+to|\s+are\s+going\s+to)|let\s+me)\s+(?=\S)", re.I)
# Words between the promise and its verb that change nothing: "I'll also send", "we'll definitely get".
_FILLER = re.compile(r"(?:(?:also|then|just|definitely|certainly|personally|gladly|happily|quickly|both|mostly|"
                     r"really|actually|only|all|each|surely|"
                     r"still|now|first|make\s+sure\s+(?:to|that\s+I|that\s+we|we|I))\s+)+", re.I)
# Verbs that say what someone will be, need or think, not what they will do.
_NOT_ACTIONS = frozenset("""
    need needs want like love hate see guess bet admit say suppose think probably likely never not hope wait
    know miss lose try
    the a an my our your this that these those some
""".split())  # and a determiner is no verb: "I'm going to the High Desert" is a trip
# Verbs that are a promise on their own: "Yes, I will donate", "OK, I'll sign".
_ALONE = frozenset("donate sign pay contribute commit join call follow-up".split())
# "have" is an action when something will be ready or delivered ("we'll have the sandbox ready"), not when it
# tells who or what will be there ("I will have my husband and my dog with me").
_HAVE_ACTION = re.compile(r"have\s+(?:a\s+(?:look|word|chat|call|think)\b|(?:[\w'’-]+\s+){0,6}?(?:ready|done|sent|"
                          r"over|back|signed|finished|completed|set\s+up|in\s+place|to\s+you|for\s+you)\b)", re.I)
# Plans and circumstances told in the future tense: what the speaker will do anyway, not for the other side.
_PLANS = frozenset("""
    use camp hike cook eat drink stay travel spend enjoy feel live freeze starve die bring run sleep swim fish
    hunt relax survive play drive arrive leave sweat catch forage boil gather collect suffer
""".split())
# A refusal phrased as an action: "I will donate nothing", "we'll pay zero".
_NOTHING = re.compile(r"[\w'’]+\s+(?:nothing|none|zero|no\s+(?!later|more|less|problem|doubt)\w+|"
                      r"[$€£]?0(?:\.0+)?(?!\.?\d))(?:\W|$)", re.I)
# "be" is an action only in a few phrases: "I'll be in touch", "we'll be back to you", "be there".
_BE_ACTIONS = re.compile(r"be\s+(?:in\s+touch|back|there|sending|sharing|ready|reaching)\b", re.I)
# Narrating the call itself; a promise only when a time expression puts it after the call.
_IN_CALL = frozenset("""
    show recap summarise summarize walk start begin explain ask repeat pull jump go introduce clarify answer
    share read play pause keep understand add mention interrupt stop finish wrap turn move
""".split())
_SHARE_SCREEN = re.compile(r"share\s+(?:my|the)\s+screen", re.I)
# A clause that makes what follows it conditional: "If it helps, I'll ...", "Sure, if it holds, we'll ...".
_CONDITIONAL = re.compile(r"(?:^|[,;:—])\W*(?:if|unless|in\s+case|should|whether|maybe|perhaps|hopefully"
                          r"|ideally)\b", re.I)
_LABEL = re.compile(r"\s*(?:[A-Za-z]+\s+){0,2}[A-Za-z]+:\s+")  # "Next step: ", "Action item: "
_NAMED_LINK = (r"(?:\s+will|['’]ll|\s+to|\s+is\s+going\s+to"
               r"|\s+(?:has\s+)?(?:agreed|promised|committed|offered)\s+to)")


def find_commitments(statements: Iterable[Statement], *, people: Iterable[str] = (),
                     sellers: Iterable[str] = (), undated_on: dt.date | None = None,
                     offers: bool = False) -> list[Commitment]:
    """The commitments made in `statements` (in the order they were said, one conversation after another), in
    their order, each sentence at most once. An offer is settled by the other side's next words: accepted, it
    is an agreed term; otherwise it is left out, unless `offers` is set.

    people: names of the people on the deal (speakers, contacts, sellers), so "Helen Lopez to send ..." and
    "Maria will ..." are recognised; a first name counts when only one person has it.
    sellers: the names of our side, to tell a seller's promise from a customer's for named people.
    undated_on: the day to count "by Friday" from in a statement that has no date of its own (an imported
    transcript); None leaves such relative dates unresolved."""
    statements = list(statements)
    seller_names = {_norm(name) for name in sellers}
    named = _named_pattern(people)
    found = []
    for index, statement in enumerate(statements):
        before = _other_side(statements, index, step=-1)
        ask = _ask_in(before) if before is not None else None
        parts = sentences(statement.text)
        said = [c for c in (_commitment(statement, sentence, named, seller_names, undated_on)
                            or _offer(statement, sentence) for sentence in parts) if c is not None]
        if ask is None and before is not None and parts and _STRONG_ACCEPT.search(parts[0]) \
                and not _COUNTER.search(parts[0]):
            # "Even a couple of cents." - "Yeah, I can do that.": terms named, taken.
            ask = _terms_in(before, firmly=_TAKES_TERMS.search(parts[0]) is not None)
        # A submitted deal is an offer whatever came before it: only the other side's button settles it.
        if ask is not None and parts and not _SUBMIT.match(parts[0]) \
                and (_answers_ask(parts[0]) or (said and said[0].sentence == parts[0])):
            # A yes to the other side's ask: the answer's own promise ("Sure. I'll send it by Friday") or, for a
            # bare yes, what was asked is what is agreed.
            said[:1] = [_agreed_to_ask(statement, said[0].sentence if said else parts[0],
                                       said[0] if said else None, ask, before, undated_on)]
        reply = _other_side(statements, index, step=1)
        for commitment in said:
            if commitment.kind == OFFER and reply is not None and accepts(reply.text):
                commitment = replace(commitment, kind=AGREED, accepted_by=reply)
            if offers or commitment.binding:
                found.append(commitment)
    return found


# --- offers, asks and acceptance ---------------------------------------------------------------------------

# Money and quantities as terms are stated: "$1", "50 cents", ".25", "10%", "3 food", "two firewood", "50 seats".
_AMOUNT = re.compile(
    r"[$€£]\s?\d[\d,]*(?:\.\d+)?(?:\s?[kKmM]\b)?|(?<![\w.])\.\d+\b|\b\d[\d,]*(?:\.\d+)?\s?(?:%|(?:dollars?|cents?|"
    r"bucks|usd|eur|euros?|pounds?|percent)\b)|\b(?:\d+|one|two|three|all|half)\s+(?:(?:of\s+)?(?:the|my|your)\s+)?"
    r"(?:(?:packages?|packs?|units?)\s+of\s+)?(?:foods?|waters?|firewoods?|woods?|seats?|licen[cs]es?|users?|units?|"
    r"packages?|packs?|months?|years?)\b"
    r"|\b(?:a|one|two|three|four|five|six|seven|eight|nine|ten|fifteen|twenty|twenty-five|thirty|fifty|a hundred|"
    r"\d+)\s+(?:dollar|cent|buck)s?\b|\b\d[\d,]*(?:\.\d+)?\s?\$"
    r"|(?<![\w.$])\d+\.\d{2}\b"  # "0.50": a price or a donation, written without its currency
    r"|\b(?:half|all|most|some|part|a portion|a (?:small |little )?(?:part|bit))\s+(?:of\s+)?(?:my|the|your|this)\s+"
    r"(?:\w+\s+)?(?:payment|earnings|reward|bonus|pay|wages|payout)\b"
    r"|\b(?:my|the|this)\s+(?:whole|entire|full)\s+(?:\w+\s+)?(?:payment|earnings|reward|bonus|pay|amount)\b", re.I)
# Terms put to the other side: a proposal ("how about I take two", "what if we ..."), what one is willing or able
# to give ("I can do $1", "I'd be willing to donate", "we could offer 10% off", "you can have all the water"),
# a summary of terms asked back ("So I get 3 food and you get the water?"), a CaSiNo "Submit-Deal (...)".
_PROPOSAL = re.compile(
    r"^\W*(?:(?:ok(?:ay)?|so|well|alright|then|and|but|yes|yeah|sure|hmm+|fine)\b[\s,.!]*)*(?:"
    r"(?:how|what)\s+(?:about|bout|if)\s+(?:i|we|you|u|[$€£]|\.?\d)"
    r"|i\s+(?:get|take|keep)\s+(?:\d|one|two|three|all|the)\b.*\byou\s+(?:get|take|keep|have)\b"
    r"|submit-deal\b)"
    r"|\b(?:i|we)(?:['’]d|\s+would|\s+can|\s+could|['’]m|\s+am|['’]re|\s+are)\s+"
    r"(?:(?:probably|definitely|certainly|maybe|also|just|happily|gladly)\s+)?(?:(?:be\s+)?(?:willing|able|happy|"
    r"glad|like|love|prefer|ready|want)\s+to\s+|(?:also\s+|only\s+)?)(?:do|give|donate|offer|pay|contribute|"
    r"trade|part\s+with|take|let\s+you\s+have|throw\s+in|include|sign|buy|commit\s+to|go\s+(?:with|to)|split|"
    r"pledge|make\s+(?:a|the|my|an?\s+\S+)\s+(?:\S+\s+)?(?:donation|contribution|payment|pledge|purchase))\b"
    r"|\b(?:i|we)\s+(?:choose|pick|pledge|agree\s+to)\b"
    r"|\byou\s+can\s+(?:have|take|keep|give\s+me)\b|\b(?:can|could)\s+(?:i|we)\s+(?:do|get|have|take)\b|\blet['’]?s\s+(?:do|go\s+with|say|split|make\s+it)\b"
    r"|\b(?:i|we)\s+(?:propose|suggest|offer)\b|\bgo\s+ahead\s+and\s+(?:take|have|keep|put)\b"
    r"|^\W*(?:take|have|keep)\s+(?=[$€£]|\.?\d)", re.I)
_GIFT = re.compile(r"\b(?:donat\w*|contribut\w*|pledg\w*|make\s+(?:a|the|my|an?\s+\S+)\s+(?:\S+\s+)?"
                   r"(?:donation|contribution|pledge))\b", re.I)
# "As of now I am donating $1": the present tense of a pledge, a promise like "I will donate $1".
_PLEDGE = re.compile(r"\b(?:i|we)(?:['’]m|\s+am|['’]re|\s+are)\s+(?:(?:now|definitely|also)\s+)?(?:donating|giving|"
                     r"paying|pledging|contributing|signing|buying|committing)\b", re.I)
# A yes said as a short promise: "I will gladly.", "yes i will", "I guess so", "I probably will".
_ELLIPTICAL_YES = re.compile(r"^\W*(?:(?:yes|yeah|yep|sure|ok(?:ay)?|of\s+course)\W+)?(?:i|we)\s+(?:(?:will|would|can|"
                             r"could|shall|do)(?:\s+(?:gladly|definitely|certainly|surely|happily|too|so))?|guess\s+so|"
                             r"think\s+so|(?:probably|definitely|certainly|gladly|surely)\s+will)\W*$", re.I)
# Giving items or money in exchange, or on a condition the other side must meet: terms, even after "I'll".
_EXCHANGE = re.compile(r"\b(?:if\s+(?:you|u)|in\s+exchange|in\s+return|as\s+long\s+as\s+you|provided\s+(?:that\s+)?"
                       r"you|for\s+(?:your\s+|the\s+)?(?:\d+|one|two|three|all|half)\b|and\s+you\s+(?:get|take|give|can)|"
                       r"you\s+give\s+me|"
                       r"you(?:['’]ll|\s+will)\s+(?:also\s+)?(?:get|have|take))\b", re.I)
_TERMS_VERBS = frozenset("give take get keep trade offer split swap let throw discount accept do".split())
_CLAIMS = frozenset("take get keep accept".split())
# Words that accept terms. Strong ones accept even with a further wish after them ("That works for me. But I'd
# like some firewood too" still takes the terms before it); weak ones ("ok", "sure", "thanks") only when the
# reply makes no counter-offer and raises no objection.
_STRONG_ACCEPT = re.compile(
    r"^\W*(?:(?:ok(?:ay)?|yes|yeah|yep|great|perfect|alright|awesome|cool|sure)\b[\s,.!]*)*(?:accept-deal\b|deal\b|"
    r"agreed\b|works\b|sounds\s+(?:good|great|fair|perfect|fine)\b)"
    # The unmistakable ones anywhere in the sentence: "hmm yes friend, so i accept the deal", "Awesome! Glad we
    # have a deal".
    r"|\b(?:(?:it['’]?s|that['’]?s|you['’]ve\s+got|we\s+have|we['’]ve\s+got)\s+a\s+deal\b|"
    r"(?:that|this|it)\s+(?:works|sounds\s+(?:good|great|fair|perfect|fine|like\s+a\s+(?:(?:really|very)\s+)?"
    r"(?:good|great|fair)?\s*(?:plan|deal|idea)))|sounds\s+like\s+a\s+(?:plan|deal)|"
    r"i\s+(?:can|could)\s+(?:agree\s+to|manage|work\s+with|live\s+with)\s+(?:that|this|it)\b|"
    r"we\s+(?:are|['’]re)\s+in\s+agreement"
    r"|(?:that|this|it)(?:['’]s|\s+is|\s+would\s+be|['’]d\s+be|\s+will)\s+(?:fine|fair|good|great|perfect|"
    r"acceptable|work)\b|(?:that|this|it)\s+would\s+work\b|"
    r"i\s+(?:accept|agree|can\s+(?:do|live\s+with)\s+(?:that|this|it)|(?:['’]m|\s*am)\s+(?:happy|fine|good|ok(?:ay)?)"
    r"\s+with|['’]ll\s+(?:do|take)\s+(?:that|it|this))\b|let['’]?s\s+do\s+(?:it|that|this)\b|count\s+me\s+in\b|"
    r"i['’]m\s+in\b|you\s+can\s+count\s+on\b)", re.I)
_WEAK_ACCEPT = re.compile(r"^\W*(?:(?:well|oh|wow)\W+)?(?:ok(?:ay)?|yes|yeah|yep|yup|sure|great|perfect|alright|"
                          r"all\s+right|awesome|excellent|wonderful|fantastic|cool|fine|of\s+course|absolutely|"
                          r"definitely|certainly|thank\s+you|thanks|ty|that(?:['’]?s|\s+is)\s+(?:so\s+|very\s+|really\s+)?"
                          r"(?:great|wonderful|awesome|amazing|generous|kind|fantastic|lovely|nice))\b", re.I)
_COUNTER = re.compile(r"\b(?:but|however|though|instead|rather|no(?!\s+(?:idea|problem|worries|doubt))|not|nope|"
                      r"can['’]?t|cannot|won['’]?t|don['’]?t|"
                      r"reject-deal|walk-away|how\s+about|what\s+about|what\s+if|if|unless|except|counter)\b|\?",
                      re.I)
# An ask for the other side to give, do or agree to something: "Would you be willing to donate $1?", "How much
# would you like to give?", "Can you send the questionnaire by Friday?", "Will you sign this month?".
_ASKED_ACTS = (r"(?:donat|giv|contribut|pay|buy|purchas|sign|send|commit|trade|accept|agree|take|part\s+with|"
               r"match|join|book|schedul|introduc|share|split|pledg|let\s+me\s+have|(?:make|start)\w*\s+(?:\w+\s+){0,2}"
               r"(?:donation|pledge|contribution|purchase|order|payment|commitment))")
_ASK = re.compile(
    rf"\b(?:(?:would|will|could|can|are)\s+(?:you|u)\s+(?:\w+\s+){{0,2}}?|do\s+(?:you|u)\s+(?=want|wish|like))"
    r"(?:(?:like|want|wish|willing|able|ready|happy|interested)\s+(?:to\s+|in\s+)?|consider(?:ing)?\s+|agree\s+to\s+|"
    rf"commit\s+to\s+)?(?P<what>{_ASKED_ACTS}\w*\b[^?]*)"
    # "So you are donating $0.15, correct?", "I can count on you for $0.10?": checking terms is asking for them.
    rf"|\byou(?:['’]re|\s+are|\s+will(?:\s+be)?|['’]ll(?:\s+be)?)\s+(?P<confirm>{_ASKED_ACTS}\w*\b[^?]*)"
    r"|\bcount\s+on\s+you\s+(?P<count_on>for\b[^?]*)"
    # "So I get 3 food and 2 firewood?": terms summed up and put as a question (with an amount, see _ask_in).
    r"|^\W*(?:(?:so|ok(?:ay)?|and|then)\W+)*(?P<terms>(?:i|you|we)\s+(?:get|take|keep|have|give)\b[^?]*)"
    r"|\bhow\s+much(?:\s+\w+){0,4}?\s+(?:would|will|do|can|could)\s+(?:you|u)\s+(?:\w+\s+){0,2}?(?P<how_much>(?:donat|giv|"
    r"contribut|pay|spend|offer)\w*\b[^?]*)"
    r"|^(?:please|so\s+please)\s+(?P<please>(?:donat|giv|contribut|sign|send|commit)\w*\b[^.!?]*)", re.I)


def accepts(text: str) -> bool:
    """Do these words accept what was just put to the speaker? "Deal", "Sounds good", "That works for me",
    "OK I'll do that", an "Accept-Deal"; "Sure" and "Thanks" only when nothing after them counters or objects."""
    parts = sentences(text)
    if not parts:
        return False
    if any(_STRONG_ACCEPT.search(part) and not _COUNTER.search(part) for part in parts[:2]):
        return True
    first = parts[0]
    return bool(_WEAK_ACCEPT.search(first)) and not _COUNTER.search(text) and not _PROPOSAL.search(text)


def _answers_ask(sentence: str) -> bool:
    """Is this the opening of a yes to an ask: "Yes", "Sure, I can do that", "Let's do 1", "$1", "50 cents"?"""
    if _COUNTER.search(sentence.rstrip(" ?")) or _zero(_amount(sentence)) or _NOTHING.search(sentence) \
            or re.fullmatch(r"\W*[$€£]?0(?:\.0+)?\W*", sentence):  # "Maybe 0.50?" is a shy yes; "$0" a no
        return False
    bare_amount = _AMOUNT.fullmatch(sentence.strip(" .!,")) is not None or re.fullmatch(
        r"\W*(?:(?:like|ok(?:ay)?|um+|just|only|maybe)\W+)*[$€£]?\d*\.?\d+\s*(?:\$|dollars?|cents?|bucks)?\W*",
        sentence.strip(), re.I) is not None
    return bare_amount or bool(_STRONG_ACCEPT.search(sentence) or _WEAK_ACCEPT.search(sentence)
                               or _ELLIPTICAL_YES.search(sentence) or _PROPOSAL.search(sentence))


def _ask_in(statement: Statement) -> tuple[str, str] | None:
    """(the asking sentence, what it asks for) of the last ask in the statement."""
    parts = sentences(statement.text)
    asking = statement.text.rstrip().endswith("?")
    # Anywhere in the turn: "How much would you like to donate? It comes out of your task payment."
    for sentence in reversed(parts):
        match = _ASK.search(sentence)
        if match and (sentence.rstrip().endswith("?") or match["please"] or (asking and not match["what"])) \
                and not (match["terms"] and not _amount(sentence)):
            what = next(group for group in match.groups() if group).strip(" ?.!")
            return sentence, what
    return None


_TAKES_TERMS = re.compile(r"\b(?:deal|agreed|works|sounds\s+(?:good|great|perfect)|i\s+accept|"
                          r"i\s+can\s+(?:do|live\s+with)\s+(?:that|this)|let['’]?s\s+do\s+(?:it|that))\b", re.I)
_SUBMIT = re.compile(r"\W*submit-deal\b", re.I)
_SPEAKER_SIDE = re.compile(r"\b(?:i|we|my|our|me|us|i['’]m|we['’]re|i['’]ve|we['’]ve)\b", re.I)


def _terms_in(statement: Statement, *, firmly: bool) -> tuple[str, str] | None:
    """The last sentence of the statement that names an amount, as terms a strong yes can take up."""
    for sentence in reversed(sentences(statement.text)):
        amount = _amount(sentence)
        if _PROPOSAL.search(sentence) or _EXCHANGE.search(sentence) or _FIRST_PERSON.search(sentence):
            return None  # an offer or a promise of its own: the yes settles that one (find_commitments)
        # Terms suggested to the listener ("Even a couple of cents."), or the speaker's own ("I need 3 water") when
        # the yes is firm ("Deal", "That works"); "That's fair" after "We set aside about $3,000 for this"
        # acknowledges a situation rather than accepting terms.
        if amount and not _zero(amount) and not sentence.rstrip().endswith("?") \
                and (firmly or not _SPEAKER_SIDE.search(sentence)):
            return sentence, sentence.strip(" .!")
    return None


def _agreed_to_ask(statement: Statement, sentence: str, found: Commitment | None, ask: tuple[str, str],
                   asker: Statement, undated_on: dt.date | None) -> Commitment:
    """The answer to an ask as an agreed term: the answer's own promise or offer if it has one ("Yes, I'll
    donate $1"), else what was asked, by when it was asked for ("Sure" to "Could you send the document by
    Friday?" agrees to "send the document", "by Friday")."""
    amount = _amount(sentence) or _amount(ask[1])
    if found is not None:
        return replace(found, kind=AGREED, amount=found.amount or amount, accepted_by=asker)
    time = _first_time(ask[1], _day(asker.when) or undated_on)
    what, when = _split_when(ask[1], time)
    return Commitment(statement, sentence.strip(), statement.speaker, statement.by_customer, what, when,
                      time[1].last if time else None, AGREED, amount, asker)


def _offer(statement: Statement, sentence: str) -> Commitment | None:
    """Terms put to the other side in a sentence with no "I'll" promise: a proposal, what one can give."""
    pledge = _PLEDGE.search(sentence)
    if pledge and _amount(sentence) and not _COUNTER.search(sentence):
        # "I am giving you one firewood" hands over a share: terms, an offer until taken.
        kind = OFFER if re.search(r"\b(?:you|u)\b", sentence[pledge.end():], re.I) else PROMISE
        return Commitment(statement, sentence.strip(), statement.speaker, statement.by_customer,
                          sentence[pledge.start():].strip(" .!"), None, None, kind, _amount(sentence))
    match = _PROPOSAL.search(sentence)
    if match is None or _zero(_amount(sentence)) or not (_amount(sentence) or _EXCHANGE.search(sentence)
                             or _SUBMIT.match(sentence)):
        return None
    what = sentence[match.start():].strip(" ?.!")
    # Giving with nothing asked back ("I'd be willing to donate $1 to Save the Children") is a pledge: it binds
    # the giver whether or not anyone says yes. Terms that take or trade are an offer.
    gift = _GIFT.search(what) and not _EXCHANGE.search(sentence) and not re.search(
        r"\b(?:how|what)\s+(?:about|if)\b|\byou\b|\bsubmit-deal\b", sentence, re.I)
    return Commitment(statement, sentence.strip(), statement.speaker, statement.by_customer, what, None, None,
                      PROMISE if gift else OFFER, _amount(sentence))


def _amount(text: str) -> str | None:
    deal = re.search(r"submit-deal\s*\((?P<terms>[^)]*)\)", text, re.I)
    if deal:
        return deal["terms"]
    match = _AMOUNT.search(text)
    return match.group(0) if match else None


def _zero(amount: str | None) -> bool:
    """"$0", "0 cents": an amount that gives nothing is a refusal, not terms."""
    return amount is not None and re.fullmatch(r"[$€£]?\s?0(?:\.0+)?(?:\s?\w+)?", amount) is not None


def _conversation(statement: Statement) -> str:
    return statement.uri.split("#", 1)[0]


def _other_side(statements: list[Statement], index: int, *, step: int, reach: int = 3) -> Statement | None:
    """The nearest statement by someone else in the same conversation, before (step -1) or after (step 1)
    `index`, within `reach` statements: the words an offer or an answer was said in reply to, or met with."""
    here = statements[index]
    position = index + step
    while 0 <= position < len(statements) and abs(position - index) <= reach:
        other = statements[position]
        if _conversation(other) != _conversation(here):
            return None
        if other.speaker != here.speaker:
            return other
        position += step
    return None


def _commitment(statement: Statement, sentence: str, named: tuple[re.Pattern, dict[str, str]] | None,
                sellers: set[str], undated_on: dt.date | None) -> Commitment | None:
    """The promise in one sentence, if any: the first candidate ("I'll ...", "Helen to ...") that passes."""
    if sentence.rstrip().endswith("?"):
        return None
    candidates = [(m, statement.speaker, statement.by_customer) for m in _FIRST_PERSON.finditer(sentence)]
    if named is not None:
        pattern, full_names = named
        for m in pattern.finditer(sentence):
            who = full_names[_norm(m["who"])]
            candidates.append((m, who, _norm(who) not in sellers))
    candidates.sort(key=lambda c: c[0].start())
    for index, (match, who, by_customer) in enumerate(candidates):
        # Each candidate's words run up to the next one: "let me show you this, then I'll send the deck by
        # Friday" is one promise, dated Friday, not two.
        end = candidates[index + 1][0].start() if index + 1 < len(candidates) else len(sentence)
        if who and not _CONDITIONAL.search(sentence, 0, match.start()):
            promise = _promise(statement, sentence, match, who, by_customer, end, undated_on)
            if promise is not None:
                return promise
    return None


def _promise(statement: Statement, sentence: str, match: re.Match, who: str, by_customer: bool,
             end: int, undated_on: dt.date | None) -> Commitment | None:
    rest = sentence[match.end():end]  # the words after "I'll" / "Helen Lopez to"
    filler = _FILLER.match(rest)
    rest = rest[filler.end():] if filler else rest
    words = re.findall(r"[A-Za-z’']+|[$€£]?\.?\d[\d.,]*", rest)  # "I'll do $20": an amount is a word
    if not words or (len(words) < 2 and words[0].lower() not in _ALONE):
        return None
    verb = words[0].lower()
    obligation = verb == "have" and words[1:2] == ["to"]  # "we'll have to" is a need, not a promise
    if verb in _NOT_ACTIONS or (verb == "be" and not _BE_ACTIONS.match(rest)) or obligation:
        return None
    if (verb == "have" and not _HAVE_ACTION.match(rest)) or verb in _PLANS or _NOTHING.match(rest):
        return None  # "I will have my husband with me", "we'll use it to cook", "I will donate nothing"
    time = _first_time(rest, _day(statement.when) or undated_on)
    if (verb in _IN_CALL or _SHARE_SCREEN.match(rest)) and time is None:
        return None
    what, when = _split_when(rest, time)
    due = time[1].last if time else None
    label = _LABEL.match(sentence)
    if label and label.end() <= match.start():
        sentence = sentence[label.end():]  # "Next step: Helen Lopez to ..." quotes as "Helen Lopez to ..."
    # Giving in exchange, or on the other side's condition, is terms put to them: an offer until accepted.
    # "I'll take 2 food" claims a share: terms. "I'll give $0.15" is a gift, a promise; "I'll give you 2 water" terms.
    terms = (_EXCHANGE.search(sentence) is not None
             or (verb in _TERMS_VERBS and _amount(rest) is not None
                 and (verb in _CLAIMS or re.search(r"\b(?:you|u)\b", rest, re.I))))
    return Commitment(statement, sentence.strip(), who, by_customer, what, when, due,
                      OFFER if terms else PROMISE, _amount(rest))


def _named_pattern(people: Iterable[str]) -> tuple[re.Pattern, dict[str, str]] | None:
    """A pattern for "NAME will|to ..." over the full names of `people` and the first names only one has."""
    full: dict[str, str] = {}
    firsts: dict[str, set[str]] = {}
    for name in people:
        name = " ".join(name.split())
        if len(name) < 2 or not name[0].isupper():
            continue
        full.setdefault(_norm(name), name)
        first = name.split()[0]
        if len(first) > 1 and first != name:
            firsts.setdefault(_norm(first), set()).add(name)
    for first, names in firsts.items():
        if len(names) == 1 and first not in full:
            full[first] = next(iter(names))
    if not full:
        return None
    alternatives = "|".join(re.escape(name).replace(r"\ ", r"\s+")
                            for name in sorted(full, key=len, reverse=True))
    pattern = re.compile(rf"(?<![\w'’])(?P<who>{alternatives})(?![\w'’]){_NAMED_LINK}\s+(?=\S)", re.I)
    return pattern, full


def _norm(name: str) -> str:
    return " ".join(name.split()).casefold()


# --- by when ------------------------------------------------------------------------------------------------

# Words before a date that belong to the time words: "by Friday", "on the 15th", "sometime next week".
_PREPOSITION = re.compile(r"(?<![\w/-])(?P<prep>by|before|until|till|no\s+later\s+than|not\s+later\s+than"
                          r"|on|for|at|in|over|within|during|first\s+thing|some\s*time|latest|around)"
                          r"\s+(?:the\s+)?$", re.I)
_DEADLINE = re.compile(r"by|before|until|till|no\s+later\s+than|not\s+later\s+than", re.I)


def _first_time(text: str, said_on: dt.date | None) -> tuple[int, DateMention] | None:
    """The time words of a promise, as (where they start, with their preposition; the date): the first
    deadline ("by ...") if there is one, else the first date."""
    found = []
    for mention in date_mentions(text, today=said_on):
        prep = _PREPOSITION.search(text, 0, mention.start)
        found.append((prep.start() if prep else mention.start, mention,
                      bool(prep and _DEADLINE.fullmatch(prep["prep"]))))
    deadlines = [f for f in found if f[2]]
    return (deadlines or found)[0][:2] if found else None


_TRAILER = re.compile(r"(?:[\s,;.!…—-]+(?:and|then|but|so|or)\b)*[\s,;.!…—-]*$", re.I)


def _split_when(rest: str, time: tuple[int, DateMention] | None) -> tuple[str, str | None]:
    """(what, when): the action words without the time words when they close the sentence."""
    tail = _TRAILER.sub("", rest)
    if time is None:
        return tail, None
    start, mention = time
    phrase = rest[start:mention.end]
    before, after = tail[:start].rstrip(" ,;—-"), tail[mention.end:].strip(" ,;.!")
    what = tail if after else before
    return (what or tail), phrase


def _day(when: dt.datetime | dt.date | None) -> dt.date | None:
    if isinstance(when, dt.datetime):
        return when.date()
    return when
