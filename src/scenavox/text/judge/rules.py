"""Surface features of an utterance or a reply: its form (a request to the assistant, or a statement
or confirmation), and whether a reply names a slot value other than the planned one.

These catch what sentence embeddings do not see: "Set the temperature to 17 degrees" and "You set
the temperature to 17 degrees" are near neighbours for all-MiniLM-L6-v2 (cosine 0.7+), yet only the
first is a request. English only; other languages get neutral scores (0.5) from `request_form`.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ..normalize import contains, normalize

# Words a speaker puts before the request itself ("Um, hey, okay so can you ...").
_LEAD = re.compile(
    r"^(?:(?:um+|uh+|er+m?|hmm+|hey|hi|hello|hola|oye|yo|okay|ok|so|well|oh|yeah|yes|yep|please|sorry|no|nope|"
    r"actually|wait|alright|all right|right|listen|excuse me|gracias|amigo|señor|senor|por favor|"
    r"good (?:morning|afternoon|evening)|hey there|assistant|car|"
    r"quick(?:ly)?|just|oops|whoa|ah|erm|like)\b[\s,.!…:-]*)+",
    re.IGNORECASE,
)
_MODAL = re.compile(r"^(?:can|could|would|will|may|might|mind)\s+(?:you|i|we|u)\b|^would you\b|^do you mind\b", re.I)
_WANT = re.compile(
    r"^(?:i'?d|i would|i want|i need|i wanna|i gotta|we'?d|we want|we need|let me|let's|lemme|i (?:wish|hope) to|"
    # "I'll have two tacos", "I'll pay by card": the conventional forms of ordering and paying
    # ... but not "I'll take you to the airport", the speaker offering to do it
    r"(?:i'?ll|i will|we'?ll) (?:have|take|get|go with|pay|need you|want)(?! (?:you|u|ya)\b)|"
    r"i'?m (?:paying|having|taking)|"
    r"(?:i'?m|i am) (?:gonna|going to) (?:pay|have|take)|"
    r"i (?:can|could) (?:pay|get|have)|(?:i'?ll|i will) (?:just )?need|"
    # a caller's openings: "I'm calling about ticket KM-2291", "I am reporting a fault", "I'm trying to pay"
    # ... but "I'm calling my husband" narrates (a car audit): calling needs "about / to / because ..." after it
    r"(?:i'?m|i am) (?:(?:calling|ringing|phoning)(?= (?:about|regarding|to|because|for|from|with|on behalf)\b)|"
    r"reporting|trying to|looking for|looking to|here (?:to|about)))\b",
    re.I,
)
# "Do you want to play some Coldplay?", "Would you like me to call Emma?", "Shall I set it to 20?": the
# assistant's offer, not the user's request ("Can I get two tacos?" stays a request; "can I get you" does not)
_OFFER = re.compile(
    r"^(?:do you (?:want|wanna|need|like)|would you (?:like|want|prefer|care)|shall i|should i|(?:you )?want me to|"
    r"how about (?:i|we)|(?:can|may|could) i (?:get you|help|offer|suggest|interest))\b", re.I)
# "How do I set the temperature?": asks how to do it, not for it to be done ("How do I get to Main Street?"
# asks for the route, a navigation request)
_HOW_TO = re.compile(r"^(?:how (?:do|can|could|should|would) (?:i|we|you)|"
                     # "Can you tell me how to call Doctor Patel?" (a default car build's 60-row sample, session 16)
                     r"(?:(?:can|could|would|will) you |please )?(?:tell|show) me how (?:to|do i|can i))"
                     r"\b(?! (?:get|go) to\b| get there\b)", re.I)
# "Let's take you to the beach", "I want to take you to Lincoln High": the driver speaking, not the passenger;
# "Can I play you a song by Shakira?": the speaker offering to play (a car audit)
_CARRIES_YOU = re.compile(r"\b(?:take|taking|drive|driving|bring|bringing|get|getting|drop|dropping) (?:you|ya)\b", re.I)
# ... and "Phone Peter, I'm calling you.", "I'd like to play your favorite song" (car audits). A user's words
# only: an assistant may say "playing you a song"
_USER_ON_YOU = re.compile(r"\b(?:play|playing|call|calling|phone|phoning|ring|ringing) (?:you|ya)\b|"
                          r"\byour (?:favou?rite|fave)\b", re.I)
# "Can I call your Dad?", "Can I set your cabin to 23 degrees?": the speaker offering to do it for the listener
# ... and "Can I play some Adele for you?" (a default car build's 60-row sample)
_OFFERS_YOURS = re.compile(
    r"^(?:can|could|may|shall) (?:i|we) (?:\w+ (?:up |down |on |off )?your\b|.*\bfor (?:you|ya)\b)", re.I)
# "How much does it cost to call Mom?", "How's the cabin set to 19 degrees now?": asks about the command or a
# state, not for the command (car audits)
# ... or which thing it is, or what was meant: "Is it a song by Rihanna?", "Is this Elvis Presley playing a video of
# himself?", "What do you mean by a route to the post office?" (car builds; "Is it possible to ..." asks)
ASKS_ABOUT = ("how much", "how many", "how's", "hows", "how is", "how are", "how long",
              "is it", "is this", "is that", "was it", "was that", "what do you mean")
# "Check out Michael Jackson's music, he's awesome": a recommendation, unless the scenario asks that way
RECOMMENDS = ("check out",)
_ASKS_ABOUT = re.compile(r"^(?:" + "|".join(ASKS_ABOUT + RECOMMENDS) + r")\b(?! possible)", re.I)
# "Are you sure about taking me to Memorial Hospital?", "What's all this noise about setting the cabin
# temperature to 20 degrees?": talks about doing it ("How about calling Hannah?" suggests it: a request)
_DOUBTS = re.compile(r"^(?:are you sure|is it (?:true|okay|ok|safe))\b|(?<!how )(?<!what )\babout [a-z]+ing\b", re.I)
# "Dont want to call David, do you?": a negated wish is no request
_NEGATED = re.compile(r"^(?:i |we )?(?:don'?t|do not|never|won'?t|no need to)\b", re.I)
# "I will cancel your appointment", "I'm going to book...": the speaker announces their own action
# ... or what they can do: "I can play some Bruno Mars, can you?" (a car audit; "I can pay by card" is _WANT's,
# "I could use a refill" a wish)
_OWN_ACTION = re.compile(r"^(?:i'?ll|i will|i'?m (?:gonna|going to)|i am (?:gonna|going to)|i shall|"
                         r"i (?:can|could)(?! (?:use|do with)\b))\b", re.I)
_QUESTION = re.compile(r"^(?:how|what|what's|whats|which|when|where|is|are|do|does|did|any|got)\b", re.I)
# Verbs a user starts a command with; the scenario adds the first words of its examples and descriptions.
IMPERATIVES = frozenset("""
add adjust ask book bring buy call cancel change check connect cool delete dial direct drive find
get give go guide head heat help hook increase lower make move navigate open order pay phone
play pop pull put queue raise reduce refill remind remove renew reschedule ring route schedule
send set show skip start stop swap switch take tell throw turn update warm
""".split())
# Openings of a confirmation, a description or a statement: what the assistant says, not the user.
_STATEMENT = re.compile(
    r"^(?:you|you're|youre|you've|you'll|your|here|here's|heres|there|there's|theres|it's|its|it|this|that|"
    r"that's|thats|these|those|the|i'm|im|i am|i've|i have|we're|we are|we've|my|our|mine|ours|"
    # another person's doings: "Mine is going to the post office, please take it with you" (a car audit)
    r"he|she|he's|she's|his|her|they|they're|their|someone|somebody|done|sure|certainly|"
    r"absolutely|of course|no problem|got it|great|perfect|sounds|now|today|thank|thanks|welcome|enjoy|"
    r"coming up|right away|will do|understood|noted)\b", re.I,
)
# first words of examples that are not command verbs
NOT_VERBS = frozenset("i we you he she they it can could would will may please um uh hey hi hello hola okay ok so "
                      "well oh yes no sorry just now the a an my our".split())
# function words and the everyday words of confirming something: not news in a reply
COMMON_WORDS = frozenset("""
a about above after again all also am an and any are as at be been before being below between both but by can
could did do does doing done down during each few for from further had has have having he her here hers him his
how i if in into is it its itself just let me more most my no nor not now of off on once only or other our ours
out over own same she should so some such than that the their them then there these they this those through to
too under until up very was we were what when where which while who whom why will with would you your yours
okay sure right away coming got thanks thank great good fine perfect certainly course problem absolutely
alright done will shall set setting now ready please sorry yes yeah hello hola gracias one two three four five
six seven eight nine ten twenty thirty forty fifty sixty seventy eighty ninety hundred minutes moment soon
going get getting make making start starting call calling play playing book booking order ordering ask asking
""".split())
_GERUND = re.compile(r"^([a-z]+ing)\b", re.I)
_NOT_GERUND = frozenset({"bring", "sing", "ring", "string", "king", "thing", "nothing", "something", "anything",
                         "everything", "morning", "evening", "spring", "swing", "wing", "ping"})


def strip_lead(text: str) -> str:
    t = text.strip().lstrip("\"'“”‘’¡¿ ")
    return _LEAD.sub("", t).strip()


# How a request is put ("can you", "I'd like to", "please"): said of every command alike, so the intent is
# read from what follows it
_ASKING = re.compile(
    r"^(?:(?:can|could|would|will) (?:you|u)(?: please| kindly| just)?|(?:can|could|may) (?:i|we)(?: please)?|please|(?:do you|would you) mind|"
    r"i (?:want|need|wanna|would like)(?: you)?(?: to)?|i'?d like(?: you)?(?: to)?|let's|lets|let me)\b[\s,]*",
    re.I)


def core(text: str) -> str:
    """The words after the greeting and the way of asking: "Hey, can you call x?" -> "call x?"."""
    body = strip_lead(text)
    rest = _ASKING.sub("", body, count=1)
    return strip_lead(rest) or body or text.strip()


def asked_about(texts: list[str]) -> frozenset[str]:
    """The openings of _ASKS_ABOUT (and RECOMMENDS) that a scenario's own examples or descriptions use: a
    stall's price question ("ask how much a dish costs") asks with "how much", so there it is a request."""
    norm = [f" {t.lower()} " for t in texts]
    return frozenset(q for q in ASKS_ABOUT + RECOMMENDS if any(f" {q} " in t for t in norm))


def request_form(text: str, verbs: frozenset[str] = frozenset(), questions: frozenset[str] | None = None,
                 user: bool = True) -> tuple[float, str]:
    """(score, cue): 1.0 when the words read as a request or question to the assistant, 0.0 when
    they read as a statement or a confirmation, 0.5 when the form says nothing either way.
    questions: openings of _ASKS_ABOUT that the scenario asks with (asked_about); None: all of them
    (a text without its scenario: "How much are the arepas?" may be a price question). user=False: the
    text is the assistant's (reply_form asks whether it hands a question back): a question about a
    state, an offer to play or a negated wish is then still asking the user something."""
    body = strip_lead(text)
    low = body.lower()
    words = re.findall(r"[a-z']+", low)
    if not words:
        return 0.5, "no words"
    first = words[0]
    if _OFFER.match(low):
        return 0.0, "offers to do it"
    if _HOW_TO.match(low):
        return 0.0, "asks how to do it"
    if _CARRIES_YOU.search(low) or (user and _USER_ON_YOU.search(low)):
        return 0.0, "acts on the listener ('take you', 'play you', 'your favorite')"
    if user and _OFFERS_YOURS.match(low):
        return 0.0, "offers to do it for the listener ('can I ... your / for you')"
    about = _ASKS_ABOUT.match(low)
    if user and about and questions is not None and about.group(0).lower() not in questions:
        return 0.0, ("recommends it, not asks for it" if about.group(0).lower() in RECOMMENDS
                     else "asks about it, not for it")
    if user and _NEGATED.match(low):
        return 0.0, "a negated wish"
    if user and _DOUBTS.search(low):
        return 0.0, "talks about doing it"
    if _MODAL.match(low):
        return 1.0, "modal question"
    if _WANT.match(low):
        return 1.0, "want/need"
    if _OWN_ACTION.match(low):
        return 0.0, "announces the speaker's own action"
    if first in IMPERATIVES or first in verbs:
        return 1.0, f"imperative '{first}'"
    if _QUESTION.match(low) and text.rstrip().endswith("?"):
        return 1.0, "question"
    gerund = _GERUND.match(low)
    if gerund and gerund.group(1) not in _NOT_GERUND:
        return 0.0, f"starts with '{gerund.group(1)}'"
    if _STATEMENT.match(low):
        return 0.0, f"statement '{first}'"
    if re.search(r"\bplease\b", low) or text.rstrip().endswith("?"):
        return 1.0, "please/question mark"
    return 0.5, "form unclear"


_CORRECTION = re.compile(
    r"\b(?:no|nope|sorry|actually|instead|i meant|i mean|make (?:it|that)|change|switch|rather|correction|"
    r"wait|not|update|scratch that|oops)\b", re.I,
)


def prompt_leak(text: str, phrases: frozenset[str], words: frozenset[str]) -> str:
    """The words of the prompt that the utterance repeats ("play music by an artist or a radio station,
    Shakira" from the intent's description, "the Terse version" from the style), or ""."""
    padded = f" {normalize(text)} "
    for x in sorted(phrases) + sorted(words):
        if f" {x} " in padded:
            return x
    return ""


def prompt_phrases(descriptions: list[str], styles: list[str], examples: list[str]) -> tuple[frozenset[str], frozenset[str]]:
    """(phrases, words) that mark an utterance as copying its prompt: the 5-word runs of the intents'
    descriptions that hold a word no example utterance uses ("an artist or a radio"; "ask for a refill
    of" stays free when an example asks for a refill) and 3-word runs of the styles ("filler word like"), and
    each style's leading word ("terse", "polite"; adverbs and everyday words excepted: "slightly" anxious, a
    "friendly" tone may be said)."""
    ex = [normalize(e) for e in examples]
    ex_words = {w for e in ex for w in e.split()}
    joined = " | ".join(ex)
    phrases = set()
    for d in descriptions:
        w = normalize(d).split()
        for k in range(len(w) - 4):
            gram = w[k : k + 5]
            new = [x for x in gram if x not in ex_words and x not in COMMON_WORDS]
            if new and " ".join(gram) not in joined:
                phrases.add(" ".join(gram))
    words = set()
    for s in styles:
        w = normalize(s).split()
        if w and len(w[0]) >= 5 and w[0] not in COMMON_WORDS and w[0] not in ex_words and not w[0].endswith("ly"):
            words.add(w[0])
        # a style's own 3-word runs: "Play ABBA on the radio now with a filler word like um." (car, read in a
        # 60-row sample of a default build) copies "hesitant with a filler word like um" but not its first word
        for k in range(len(w) - 2):
            gram = w[k : k + 3]
            if [x for x in gram if x not in ex_words and x not in COMMON_WORDS] and " ".join(gram) not in joined:
                phrases.add(" ".join(gram))
    return frozenset(phrases), frozenset(words)


def addressed(text: str, values: list[str]) -> str:
    """The slot value the utterance talks *to* instead of asking for: "I'd like to call you, Carlos",
    "Please call me Kevin", "Mike, please make sure to dial the right number" (car audits), or "".
    A value named first and then left ("The airport, please.") is a terse request, not a name called."""
    for v in values:
        if not v:
            continue
        if re.search(r"\b(?:call|phone|dial|ring)(?:ing)?\s+(?:me|you)\b[\s,]+(?:the\s+)?" + re.escape(v) + r"\b",
                     text, re.I):
            return v
        # "Mike can you call Mike?" (car builds, twice): a name called, then asked for (not "The airport, can you
        # take me to the airport?", a place named first)
        if not re.match(r"(?:the|a|an|my|\d)\b", v, re.I) and re.match(
                r"^\W*(?:hey|hi|hello|okay|ok)?[\s,]*" + re.escape(v) + r"\s*,?\s*(?:can|could|would|will|please)\b.*\b"
                + re.escape(v) + r"\b", text.strip(), re.I):
            return v
        head = re.match(r"^\W*(?:hey|hi|hello|okay|ok)?[\s,]*" + re.escape(v) + r"\s*,\s*(.+)$", text.strip(), re.I)
        # ... unless the rest points back at it ("The airport, please take me there.")
        if head and len(re.findall(r"[a-z']+", head.group(1), re.I)) >= 3 and not re.search(
                r"\b(?:" + re.escape(v) + r"|there|it|them|her|him|that|this|one)\b", head.group(1), re.I):
            return v
    return ""


def subordinate(text: str, values: list[str]) -> str:
    """The value that only a time clause names ("Buy me a coffee now, and I can have it tomorrow after you
    set the temperature to 25 degrees": the request is the coffee), or ""."""
    for v in values:
        if v and re.search(r"\b(?:after|before|when|until|while|once) (?:you|we|i)\b[^.!?,]*?\b" + re.escape(v) + r"\b",
                           text, re.I) and not re.search(r"^[^,]*\b" + re.escape(v) + r"\b", text, re.I):
            return v
    return ""


def reply_openings(replies: list[str], utterances: list[str]) -> frozenset[str]:
    """The words a scenario's replies open with, up to their first slot ({name}) and past a word of
    assent, when there are at least 3 and no example utterance says them ("Here is the fastest route to
    {destination}." -> "here is the fastest route to"; clinic's "a refill of" is a user's words too)."""
    said = " | ".join(f" {normalize(u)} " for u in utterances)
    out = set()
    for r in replies:
        head = _ASSENT.sub("", r.split("{", 1)[0].strip())
        words = normalize(head).split()
        if len(words) >= 3 and f" {' '.join(words)} " not in said:
            out.add(" ".join(words))
    return frozenset(out)


def answers_itself(text: str, openings: frozenset[str]) -> str:
    """A clause after the first that opens like one of the scenario's replies ("Go to the shopping mall,
    here is the fastest route to the shopping mall.": the model wrote the answer into the request), or ""."""
    for c in clauses(text)[1:]:
        low = f"{normalize(strip_lead(c))} "
        for o in openings:
            if low.startswith(f"{o} "):
                return c
    return ""


def correction_form(text: str) -> float:
    """1.0 when the words read as a change of the previous request ("No, make it 3")."""
    return 1.0 if _CORRECTION.search(text) else 0.0


def other_values(text: str, planned: dict[str, str], choices: dict[str, list[str]],
                 allowed: tuple[str, ...] = ()) -> list[str]:
    """Slot values, from the slots' declared values, that the text names but the command does not:
    a reply that says "Calling Mike" for a call to Emma invents another command. `allowed`: values
    the text may name anyway (a correction's previous value). A bare number counts only when the
    planned one is missing ("3 tacos, that's 6 dollars" names 6 as a price, not as a quantity)."""
    found = []
    norm = f" {normalize(text)} "
    for slot, values in choices.items():
        mine = planned.get(slot)
        if mine is None:
            continue
        mine_said = f" {normalize(mine)} " in norm
        for v in values:
            if v == mine or not v.strip() or v in allowed:
                continue
            nv = normalize(v)
            if v.strip().isdigit() and mine_said:
                continue
            if nv and f" {nv} " in norm and not contains(mine, v):  # "Main Street" inside "Main Street Mall"
                found.append(v)
    return found


_ACK = re.compile(
    r"^(?:okay|ok|sure|alright|all right|got it|done|certainly|of course|no problem|absolutely|right away|"
    r"will do|coming (?:right )?up|you got it|understood|noted|perfect|great|good|fine|ready|consider it done|on it|"
    r"now \w+ing|now (?:set|playing|calling)|that's right|"
    r"here (?:is|are|'s|you go)|here's|heres|"
    r"i(?:'ll| will|'ve| have|'m| am)(?: now| just)? (?:\w+ing|\w+ed|set|put|book|call|play|start|send|add|"
    r"change|cancel|renew|refill|ask|get|make|take|update|let|note|order|find|check|turn|dial|route|guide)\b|"
    r"(?:your|the|that|this|it|they|those|these)\b.{0,60}\b(?:is|are|was|were|will be|has been|have been|"
    r"costs?|comes? to|'s|'re)\b)",
    re.I,
)


# A word of assent before the reply itself ("Awesome, 3 tacos coming up", "Sí, 5 dumplings!"): what follows
# it decides the form ("Sure, please pay card" is a request), an assent alone confirms.
_ASSENT = re.compile(r"^(?:awesome|cheers|great|perfect|excellent|nice|good|fine|sí|si|yes|yep|okay|ok|sure|alright|"
                     r"all right|right|no problem|of course|certainly|absolutely|got it|you got it|done)\b[\s,.!…:-]*",
                     re.I)
# Confirmation phrases anywhere in a reply ("No, 2 arepas coming up for now").
_CONFIRMS = re.compile(r"\b(?:coming (?:right )?up|right away|on (?:its|it's|the) way|is fine|works|(?:is|are) now|"
                       r"now (?:playing|calling|setting|heading)|here (?:is|are|you go))\b", re.I)


def reply_form(text: str, verbs: frozenset[str] = frozenset()) -> tuple[float, str]:
    """(score, cue) for a reply: 1.0 when it reads as the assistant confirming or answering, 0.0 when it
    reads as a request to the assistant (the user's words again), 0.5 otherwise."""
    t = text.strip().lstrip("\"'“”‘’¡¿ ")
    assent = _ASSENT.match(t)
    rest = t[assent.end():] if assent else t
    body = strip_lead(rest)
    low = body.lower()
    words = re.findall(r"[a-z']+", low)
    if not words:
        return (1.0, "confirmation") if assent else (0.5, "no words")
    gerund = _GERUND.match(low)
    if _ACK.match(low) or _ACK.match(rest.strip().lower()):
        return 1.0, "confirmation"
    if gerund and gerund.group(1) not in _NOT_GERUND:
        return 1.0, f"'{gerund.group(1)}' (doing it)"
    form, cue = request_form(rest, verbs, user=False)
    if form == 1.0:
        return 0.0, f"a request ({cue})"
    if assent or _CONFIRMS.search(t):
        return 1.0, "confirmation"
    return 0.5, "form unclear"


# Clause openings that ask the user for something or hand the command back: "you can go to the museum",
# "how about 6 dumplings", "let's just take a bus", "don't forget to call Uncle Bob".
_ASKS = re.compile(r"^(?:please|can you|could you|would you|will you|can i|could i|may i|do you|did you|let's|lets|"
                   r"how about|what about|why don't|you can|you could|you should|you need|you have to|you must|"
                   r"you want|don't forget|remember to|try)\b", re.I)
_CLAUSE = re.compile(r"[,.;!?:()]+|\s+(?:and|but|so)\s+", re.I)
_YOU = re.compile(r"\b(?:you|you're|youre|you've|you'll|youll|you'd)\b", re.I)
_NEGATION = re.compile(r"\b(?:not|no|never|can't|cannot|cant|don't|dont|won't|wont|isn't|sorry|afraid|unfortunately|"
                       r"nothing|nobody)\b", re.I)


def clauses(text: str) -> list[str]:
    return [c.strip() for c in _CLAUSE.split(text) if c and c.strip() and any(ch.isalpha() for ch in c)]


def request_clauses(text: str, verbs: frozenset[str] = frozenset()) -> list[str]:
    """The clauses of a reply that ask the user (or the assistant) for something: an imperative ("Well
    done, set the temperature to 25 degrees"), "please", "can you", "you can", "how about", "let's"."""
    found = []
    verbs = verbs | IMPERATIVES
    for c in clauses(strip_lead(text) or text):
        low = strip_lead(c).lower()
        words = re.findall(r"[a-z']+", low)
        if words and (_ASKS.match(low) or (words[0] in verbs and not _GERUND.match(low))):
            found.append(c)
    return found


def you_count(text: str) -> int:
    """How often the reply says "you": the assistant telling the user what they do ("You're calling Emma
    again"), not doing it."""
    return len(_YOU.findall(text))


def negations(text: str) -> int:
    """Refusals and negations ("I'm afraid you don't know Elvis Presley", "No, that's not me")."""
    return len(_NEGATION.findall(text))


_PRICE = re.compile(r"[$€£]\s*\d+(?:[.,]\d+)?|\b\d+(?:[.,]\d+)?\s*(?:dollars?|euros?|pounds?|bucks|cents?)\b", re.I)


def foreign_values(text: str, own_slots: set[str], planned: dict[str, str], choices: dict[str, list[str]]) -> list[str]:
    """Values of slots that the planned intent does not have: "Sure, 2 bao buns coming up" answers a
    price question with an order (quantity is order_item's slot). Prices are not quantities ("$2.25",
    "10 dollars"), and a value inside a planned one is the planned one ("the office" as a contact)."""
    norm = f" {normalize(_PRICE.sub(' ', text))} "
    found = []
    for slot, values in choices.items():
        if slot in own_slots:
            continue
        for v in values:
            nv = normalize(v)
            if nv and f" {nv} " in norm and not any(contains(p, v) or contains(v, p) for p in planned.values()):
                found.append(v)
    return found


def copy_share(masked_utterance: str, masked_reply: str, mask_token: str = "x") -> float:
    """The share of the reply's words (values masked out) that the utterance already says: a reply that
    repeats the request ("Sorry, I meant corn on the cob" after "I'm sorry, I mean corn on the cob")."""
    said = set(masked_utterance.split())
    words = [w for w in masked_reply.split() if w != mask_token]
    return sum(w in said for w in words) / len(words) if words else 0.0


def rare_words(text: str, known: frozenset[str] | set[str], in_vocabulary: Callable[[str], bool]) -> list[str]:
    """Words of the reply that neither the scenario, its values nor the utterance use, and that a
    tokenizer's vocabulary does not hold whole: garble and made-up words ("the feast of the sabayon,
    laaayak"). "it's" is judged by "it". Latin-script words only: the vocabulary is English, and it would
    split every word of a script it does not cover."""
    out = []
    for w in re.findall(r"[A-Za-zÀ-ÖØ-öø-ÿ]+(?:['’][A-Za-z]+)?", text):
        base = re.split(r"['’]", w)[0].lower()
        if len(base) > 2 and base not in known and not in_vocabulary(base):
            out.append(w)
    return out
