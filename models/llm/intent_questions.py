"""Seeded generator of an intent-labelled question bank for the chat assistant's question router.

The bundled chat model only answers well when a question is worded like its training templates (corpus.py:
q_overall ... q_term and FIELD_QUESTIONS). The router classifies a free-text question into one of the intents below
and hands the model the canonical template. This bank is the router's training data: every base was hand-written
for it, independently of the held-out evaluation sets, and deliberately worded far from the templates.

Eleven "case" intents ask about THIS patient's screening result; eight "knowledge" intents ask about a named
condition, lesion or term in general. Many bases are near-misses of each other that differ only in meaning
("was glaucoma picked up" / "what is glaucoma" / "can glaucoma be treated"; "how soon must I be seen" /
"how urgent is glaucoma in general"), so the router has to learn more than keywords.

Each base is expanded into 3-6 surface forms: slot fillers ({eye}, {lesion}, {label}, {x}...), an optional opener
and light noise (lower case, dropped apostrophes, a typo, no question mark, American spelling). A tenth of the bases
of every intent, chosen by a stable hash of the base id and the seed, go to "val" with all their forms.

Run from the repository root:
    /usr/bin/python3 models/llm/intent_questions.py --out models/llm/data/intent-questions.jsonl --seed 6
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
# The scope gate's bank already has the base parser and the noise maker (same draws, so output is unchanged).
from scope_questions import noisy, parse  # noqa: E402

CASE_INTENTS = ("overall", "which-eye", "grade", "urgency", "next", "lesion", "cdr", "eye", "label", "quality", "macula")
KNOWLEDGE_INTENTS = ("what", "fundusAppearance", "symptoms", "causesAndRisks", "confirmingExams",
                     "treatmentAndPrevention", "prognosisAndLifestyle", "urgencyAndReferral")
INTENTS = CASE_INTENTS + KNOWLEDGE_INTENTS

# ---------------------------------------------------------------- slot fillers

_COND = ["diabetic retinopathy", "retinopathy", "diabetic eye disease", "DR", "diabetic macular oedema", "DME",
         "macular oedema", "diabetic maculopathy", "glaucoma", "cataract", "cataracts", "AMD",
         "age-related macular degeneration", "macular degeneration", "hypertensive retinopathy",
         "pathological myopia", "high myopia damage", "proliferative diabetic retinopathy", "PDR",
         "moderate NPDR", "severe non-proliferative retinopathy", "mild NPDR", "referable retinopathy"]
_SIGN = ["microaneurysms", "retinal haemorrhages", "haemorrhages", "blot haemorrhages", "hard exudates",
         "cotton wool spots", "soft exudates", "exudates"]
_DR = ["grade 1 retinopathy", "grade 2 retinopathy", "grade 3 retinopathy", "grade 4 retinopathy", "mild NPDR",
       "moderate NPDR", "severe NPDR", "moderate non-proliferative diabetic retinopathy",
       "proliferative retinopathy", "PDR", "background retinopathy", "pre-proliferative retinopathy",
       "DR grade 3", "non-proliferative diabetic retinopathy", "referable diabetic retinopathy"]
_TERMS = ["optic disc", "optic cup", "cup-to-disc ratio", "CDR", "an ungradable photograph",
          "ungradable", "DME risk 2", "DME risk 1", "a microaneurysm", "a cotton wool spot", "the macula",
          "the fovea", "maculopathy", "the optic nerve head"]

SLOTS: dict[str, list[str]] = {
    "eye": ["right", "left", "R", "L", "right", "left"],
    # how a patient or clinician names a lesion when asking whether THIS case has it
    "lesion": ["microaneurysms", "red dots", "tiny red dots", "MAs", "haemorrhages", "bleeds", "blot haemorrhages",
               "blood spots", "hard exudates", "yellow spots", "yellow deposits", "exudates", "cotton wool spots",
               "soft exudates", "fluffy white patches", "little bleeds"],
    # conditions the classifier may flag (the `label` intent)
    "label": ["glaucoma", "a cataract", "cataracts", "AMD", "macular degeneration", "age-related macular degeneration",
              "hypertensive retinopathy", "damage from high blood pressure", "blood pressure damage",
              "pathological myopia", "myopic damage", "wet AMD", "signs of glaucoma"],
    # a grade as it appears on a report (the `grade` intent)
    "g": ["grade 1", "grade 2", "grade 3", "grade 4", "grade 0", "DR grade 2", "R1", "R2", "R3", "mild NPDR",
          "moderate NPDR", "severe NPDR", "PDR", "moderate non-proliferative", "mild non-proliferative retinopathy",
          "proliferative retinopathy", "background retinopathy", "pre-proliferative"],
    "cond": _COND,
    "sign": _SIGN,
    "dr": _DR,
    "dx": _COND + _SIGN,
    "x": _COND + _SIGN + _DR + _TERMS,
    "rel": ["mum", "dad", "husband", "wife", "partner", "son", "daughter", "gran", "grandad", "brother", "sister",
            "aunt", "uncle"],
}

# ---------------------------------------------------------------- openers

OPENERS = ["", "", "", "", "", "hi", "hello,", "hi there,", "quick question,", "quick q:", "sorry,", "can I ask,",
           "I was wondering,", "ok so", "one more thing,", "thanks. also", "hey", "sorry to bother you but", "right,",
           "um"]
# a clinician's opener in front of "do I have glaucoma" (or a patient's in front of "what should I tell the
# patient") would contradict the speaker, so openers are matched to the voice of the base
CLINICIAN_OPENERS = ["GP here,", "nurse here,", "optometrist here -", "practice nurse here,"]
# a relative relaying a question only fits a base that does not speak as the patient ("do I have glaucoma")
RELAY_OPENERS = ["my {rel} asked me to ask,", "asking for my {rel},"]
# only for questions about this patient's result: they presuppose a report
CASE_OPENERS = ["looking at the report,", "about the screening,"]
CASE_PATIENT_OPENERS = ["I've just had my screening letter.", "about my results,", "about the photos from today,",
                        "got my results back.", "reading the report now,", "so about my eyes,"]
CASE_CLINICIAN_OPENERS = ["re this patient,", "re the study I just uploaded,"]
# only for general questions: they would change a case question into a general one
KNOWLEDGE_OPENERS = ["in general,", "just curious,", "out of interest,", "general question,",
                     "not about me specifically,", "generally speaking,", "for my own understanding,"]

FIRST_PERSON = re.compile(r"\b(I|I'm|I've|my|me|mine|myself)\b", re.IGNORECASE)
CLINICIAN_VOICE = re.compile(r"\b(patient|pt|this study|this case|the notes|this person|we)\b"
                             r"|\b(GP|optometrist|nurse) here|student nurse", re.IGNORECASE)


def voice(base: str) -> str:
    if CLINICIAN_VOICE.search(base):
        return "clinician"
    return "patient" if FIRST_PERSON.search(base) else "either"


def openers_for(intent: str, base: str) -> list[str]:
    v = voice(base)
    case = intent in CASE_INTENTS
    pool = OPENERS + (CASE_OPENERS if case else KNOWLEDGE_OPENERS)
    if v == "patient":
        pool = [o for o in pool if "not about me" not in o]
    if v == "either":
        pool += RELAY_OPENERS
    if v != "clinician":
        pool += CASE_PATIENT_OPENERS if case else []
    if v != "patient" and not re.search(r"\bhere\b", base):  # no second "X here" in front of "GP here, ..."
        pool += CLINICIAN_OPENERS + (CASE_CLINICIAN_OPENERS if case else [])
    return pool


# ---------------------------------------------------------------- case bases

BASES: dict[str, str] = {}

BASES["overall"] = """
So how did my eye photos come out
Can you go through my results with me? I don't understand the letter at all
Is everything ok with my eyes from the screening?
Bottom line please: good news or bad news?
pt screening result summary pls
Give me the gist of this report in a sentence or two
I had the retinal photos done last week. What did they find overall?
My {rel} had the diabetic eye check today, can you tell us what the results mean overall
Explain my results like I'm not a doctor
Overall impression of this study?
Were the scans normal or not
What's the headline from this screening report?
Is it good news?
Just tell me straight, is there anything wrong with my eyes
Summarise the findings for the referral letter
What does this whole report basically say?
Did the screening pick up anything at all?
I got a letter after my eye screening and I'm confused. Can you sum it up?
Anything abnormal on these fundus images overall?
Optometrist here. Quick overview of the AI findings on this patient please
Have my eyes passed the screening
What's the verdict on my photos
All clear or not?
Can you talk me through what the camera found
In plain English, what does my screening result mean
Brief summary of both eyes for the notes
So was anything found when they photographed the back of my eyes?
Am I fine? The report is full of jargon
What are the main findings
Tell me the results of my diabetic eye screening
I'm a bit nervous. Did my screening come back alright?
My {rel} and I have been staring at this report for ages and honestly can't make head nor tail of it, could you just tell us what it found
Anything I should know from my screening?
Results of the retinal screen in a nutshell?
Was my screening normal this year?
Be honest with me, is it bad news about my eyes?
I feel fine in myself, so is the screening result actually bad?
"""

BASES["which-eye"] = """
Which eye is the bad one?
Is it my right or my left that has the problem?
Which side was referred
Are both my eyes affected or only one of them?
Which eye has the changes
Laterality of the referable findings?
Is the retinopathy in one eye or both eyes?
Which of my eyes is worse off
Which eye needs to be seen at the hospital?
My {rel} wants to know which eye they found the problem in
Is it just the one eye?
Does the damage affect both sides
which eye is the referral about
The letter says I'm being referred. For which eye?
Is the other eye ok too, or are both involved?
Which eye shows the worst disease
R or L?
Bilateral or unilateral?
Which eye did the computer flag?
Which eye should the clinic look at first
Is the problem on one side only
Which eye's got the issue
Are they worried about one eye more than the other?
Tell me which eye is affected
Which eye has the higher grade?
Has it spread to both eyes or is it only in one
Which is the eye with the referable disease
Was one eye worse than the other on the photos?
Which of the two eyes is the concern
One eye or both?
Is it my good eye or my bad eye that's got the retinopathy?
The doctor only mentioned one eye. Which one is it?
On which side are the referable changes
"""

BASES["grade"] = """
What grade of retinopathy did I get?
My report says {g}. Is that serious?
How bad is my diabetic retinopathy?
What stage is my retinopathy at?
What does the {g} on my report mean?
DR grade?
What level of diabetic eye disease was found in my {eye} eye?
The letter says {g} in the {eye} eye, what does that mean for me
Is my retinopathy mild, moderate or severe?
How far along is the retinopathy in my eyes
What grade was each eye given
Is grade 2 serious in my case?
What does moderate non-proliferative mean on my report?
How severe is the retinopathy on these photos
Where do my eyes sit on the retinopathy scale?
Give me the DR severity for both eyes
Has it reached the proliferative stage in my case?
I'm asking for my {rel}: what does the {g} on the report mean for them?
What's the retinopathy grade, and is it a high one?
On a scale of 0 to 4, where am I?
Is my grade the worst kind?
Is my retinopathy early or advanced
ICDR grade for this study pls
what stage diabetic eye disease have i got
Is {g} bad news in my case
Why did my {eye} eye get {g}?
Did the grading find any retinopathy at all, and how much?
Is the grade on my report high or low?
The report says non-proliferative for me. Is that the good kind?
So what level is the damage from my diabetes?
They wrote {g} next to my {eye} eye. How worried should I be about that grade?
what's my retinopathy score
Severity grade per eye please
My {rel} keeps asking how bad my retinopathy is. What grade did the screening give?
Has my retinopathy been classed as proliferative or non-proliferative?
How advanced is the diabetic damage in my {eye} eye?
"""

BASES["urgency"] = """
How soon do I need to be seen?
Is this urgent?
Can it wait a few months?
How quickly should the hospital see me
Is this something I need to act on straight away?
Referral urgency?
Should I be worried about time with this result?
Is it an emergency, or can I wait for the letter?
Do I need to get to the eye clinic this week?
How fast does this patient need ophthalmology?
Routine or urgent?
Is there any rush with my result?
I'm going on holiday next month. Can this wait until I'm back?
Should I phone the hospital today about these findings
Within what timeframe should this person be seen
Does this result need a same-day review?
Is it ok to leave it till my next annual screening?
How long can I safely wait for the appointment?
Should I chase the referral or is it fine to wait?
Is my case a priority?
Do they need to see me quickly or is it routine?
GP here, how soon should I refer based on this report
Is it serious enough that I need seeing soon?
How urgently should we act on these findings
My appointment is in 3 months. Is that soon enough for what they found?
Do I need to go to eye casualty because of this report?
What's the timescale for me being seen
How pressing is this result?
Does this result mean I need to drop everything?
I feel fine and my sight is the same as always. Is this result still urgent?
Am I an urgent case?
Do I need an appointment within weeks, or months?
How long is it safe to leave this before I'm seen?
Would you call this result urgent or non-urgent?
Honestly, is this a see-me-tomorrow situation or a few-months situation?
Do I need to go to A&E tonight because of what the photos showed?
I'm scared, does this result mean I have to go to hospital straight away?
My eyes feel completely normal, so why is this marked urgent?
"""

BASES["next"] = """
What happens now?
What should I do next?
Where do I go from here
What's the plan for me?
What is the recommended follow-up?
Will someone contact me, or do I need to book something?
Who will get in touch about the next appointment
Do I need to do anything after this result?
What is the recommendation in this report?
Next steps?
When is my next check then?
What should I tell the patient to do?
Do I just come back next year?
What's going to happen with my referral
Am I being referred to a specialist or just screened again?
What do I need to do before the hospital appointment?
What does the report recommend?
Management plan please
Will I get a letter from the eye clinic?
So do I need to see an eye doctor or not
Should I book in with my optician?
What follow-up interval is suggested for this patient?
After this, what happens to me?
What's the next step for my {rel}?
Action needed?
Does the GP need to do anything with this?
How do I get the appointment sorted
What are they going to do about it?
The results are in. What now?
OK I've read it. So what am I supposed to do now?
What do you recommend for this patient?
What's supposed to happen after a result like mine?
Do I need to ring anyone or just wait to hear?
Will I be screened again, and when?
What should happen next with this referral?
I'm worried sick, what actually happens now with the referral?
"""

BASES["lesion"] = """
Were there any {lesion} on my photos?
Any bleeds on my scan?
Did you see {lesion} in my {eye} eye?
How many {lesion} were found?
Where are the {lesion}, near the middle or further out?
Did the AI pick up any {lesion}
Are there red dots on my retina photos?
Any haemorrhages or microaneurysms in this patient?
Were yellow deposits seen in either eye
Any cotton wool spots?
Did they find any blood spots at the back of my eye?
{lesion} present?
My {rel} wants to know if there were any {lesion}
How much {lesion} is there on mine
Do my photos show any bleeding in the retina?
Did the segmentation find exudates
Were fluffy white patches seen on my pictures?
Were there lots of {lesion} or just a few?
Which lesions were detected?
Did my photos show any of those little red spots?
Any sign of {lesion} in the {eye} eye?
Lesions seen: MAs, haems, HEx, CWS?
What did you find on the retina itself, any spots or bleeds?
The nurse mentioned {lesion}. Did you find any on mine?
Are the {lesion} in both of my eyes?
Has my scan got any exudates on it
Is there any {lesion} in this case?
Count of {lesion} regions in the {eye} eye?
I was told diabetics often get small bleeds in the eye. Do I have any?
Did my photos show any haemorrhages?
Are there exudates in my eyes, and where?
I heard the word microaneurysm at the clinic. Were any of those found in my eyes?
Any red lesions on the retina in this study?
Did you spot any white fluffy bits on my retina?
"""

BASES["cdr"] = """
What's my cup to disc ratio?
CDR?
Does my optic nerve look ok?
How does the optic disc look on my photos
Is the cup big on my scan?
Was the cup-to-disc ratio raised in either eye
What was the vertical CDR in the {eye} eye?
The optician said my optic nerve might be cupped. What did your measurement show?
Is my optic disc normal?
Did you measure the cup in my eyes?
Any disc cupping on these?
What's the ratio between the cup and the disc for me
Were the optic nerve heads ok on the photos?
How big is the cup compared with the disc in my {eye} eye
Is my CDR within the normal range?
Did the software find the optic disc in my pictures?
Optic nerve appearance, both eyes?
Is my cup to disc ratio too high?
What number did you get for the cup/disc
Anything unusual about the nerve at the back of my eye?
Why couldn't you measure my cup to disc ratio?
Is there asymmetry between the two discs in this patient
Does the disc in my {eye} eye look healthy?
My dad has glaucoma, so I'm worried. What did my optic disc measurement show?
Report says CDR 0.6 for my {eye} eye, is my cup measurement high then?
How does my optic cup look
Has my optic nerve been checked on these pictures?
Is my optic disc swollen or cupped?
How does my nerve look, the bit where it leaves the eye?
Cup disc ratio R and L?
Did the optic disc measurements come out ok for me
Was my disc assessed, and what was the ratio?
"""

BASES["eye"] = """
What about my {eye} eye?
Is my {eye} eye ok?
And the {eye} one?
How does the {eye} eye look
Tell me about my {eye} eye only
Anything wrong with the {eye} eye?
{eye} eye findings?
My {eye} eye has always been my good eye. Is it still fine?
What did they see in my {eye} eye
Is the {eye} eye healthy?
You talked about one eye. What about the other one, the {eye}?
How's the {eye} side looking
Can you go over the {eye} eye for me?
Did my {eye} eye come back normal?
Is there anything to worry about in the {eye} eye?
Summary for {eye} eye pls
What's going on in my {eye} eye
My {eye} eye feels fine, is it fine on the photo too?
Is the {eye} eye clear?
And what did the {eye} eye show?
I'm more worried about my {eye} eye. What does it look like?
Status of the {eye} eye?
how did the {eye} eye do
Is my {eye} eye affected at all?
What are the results for the {eye} eye
Just the {eye} eye please, how is it?
How is my {eye} eye doing?
Is there a problem with my {eye} eye?
{eye} eye ok?
My {eye} eye is my lazy eye. What did its photo show?
Now the {eye} eye, what's the story there?
Did anything turn up in the {eye} eye?
"""

BASES["label"] = """
Was {label} picked up?
Do I have {label}?
Any sign of {label} on my photos?
Did the screening flag {label}?
Does my scan suggest {label}?
Did the AI think I might have {label}
{label} suspected?
My {rel} has {label}. Did you see any in my eyes?
Is there any evidence of {label} in this study
Was anything like {label} found
Am I showing signs of {label}
Did the pictures show {label} in either eye?
The optician thought I might have {label}. Did your screening agree?
Could I have {label} based on these photos?
Were any other conditions found, like {label}?
Has {label} been ruled out for me?
Did my report say anything about {label}?
Any flags for {label} or other non-diabetic problems?
Was {label} mentioned in my results?
Screening positive for {label}?
The letter says possible {label}. Did the computer find it in both eyes?
Do the pictures show damage from my high blood pressure?
Does my report show glaucoma?
Have I got cataracts according to this?
Does it look like I have macular degeneration?
Did the classifier call {label} in this patient?
Any signs my short-sightedness has damaged my retina?
Was {label} detected in the {eye} eye?
Does my scan show anything other than diabetes, for example {label}?
Is {label} on my report?
So do I actually have {label} or not, going by these photos?
I'm very short-sighted. Did the photos show pathological myopia?
Any hint of {label} in my results?
"""

BASES["quality"] = """
Were my photos good enough to read?
Why couldn't my {eye} eye be assessed?
Why does my report say ungradable?
Were the pictures blurry?
Image quality ok?
Do I need to have the photos taken again?
Could all the images be graded?
Why was one eye not checked
Is the quality of the photographs good enough for a result?
The letter says my photos were inadequate. What went wrong?
Will I need re-imaging?
Gradable x2?
Were there enough usable pictures of each eye?
Why is there no result for my {eye} eye?
Does a bad photo mean my eye is fine?
Were the images too dark to see properly
Did the photos come out clearly?
Why do they want to photograph my eyes again
Was anything wrong with the photographs themselves?
My {eye} eye says not assessed. Why is that?
Could you actually see the back of my eyes properly on these?
Is the {eye} image usable
Should the patient be rephotographed?
How many of the photos could be graded?
Did my small pupils spoil the pictures?
Was there a problem with the camera pictures?
Are the results reliable, given the photo quality?
Why did they say my pictures weren't clear enough?
Was the {eye} eye photo too blurry to grade?
Is my result incomplete because of the photos?
Were any images rejected for quality in this study?
I think my eyelashes got in the way. Are my photos still ok?
My eyes feel fine, so why couldn't they get a good photo?
"""

BASES["macula"] = """
Is my macula ok?
Any swelling near the centre of my vision?
Does the report show maculopathy?
What does the DME risk on my report mean?
Is the central part of my retina affected?
Any exudates close to the fovea?
Am I at risk of macular oedema from these findings?
Is there any sign of diabetic macular oedema in my eyes
M grade?
Is the centre of my vision in danger?
What's my DME risk in the {eye} eye?
Did you see anything near my macula
Is there fluid at my macula?
Is the area I read with affected?
Macular involvement?
The report says DME risk 2. What does that mean for my macula?
Are the yellow spots near the centre of my vision?
Is my central vision at risk from what you found?
Has the diabetes reached my macula?
Is there maculopathy in the {eye} eye?
How close are my exudates to the middle of the retina
Do I have diabetic maculopathy
Is the macula spared in this patient?
Should I worry about the middle part of my eye from these photos?
Is there macular oedema risk on this report?
Any signs of swelling at the back of my eye in the middle?
Is my macula affected by the diabetes?
Any maculopathy in this study?
How is the middle of my retina looking?
Is there a risk of swelling at my macula?
DME risk for each eye?
Any exudates within a disc diameter of the fovea in this patient?
"""

# ---------------------------------------------------------------- knowledge bases

BASES["what"] = """
What is {x}?
What does {x} mean?
Can you explain what {x} is in simple terms
I keep hearing about {x}. What actually is it?
define {x}
{x}: what's that?
My letter mentioned {x}. I've never heard of it, what is it?
What is meant by the term {x}?
Is {cond} a disease or just a finding?
What's the medical meaning of {x}?
Explain {x} to me like I'm twelve
What is proliferative retinopathy?
what does non proliferative mean
What's the difference between mild and severe NPDR?
Is {cond} a type of diabetic eye disease?
Patient asking what {x} is. How would you explain it?
Tell me about {x}.
Could you give me a short definition of {x}
What exactly is a cotton wool spot?
What are {sign}?
What's {x} in layman's terms
Whats the definition of {cond}
Nurse here, how would you describe {x} in one line?
I googled {x} and got confused. What is it really?
What kind of condition is {cond}?
Generally speaking, what is meant by {dr}?
What's a microaneurysm?
What is the optic disc, and what is the cup?
What is glaucoma, in a nutshell?
What is a hard exudate exactly?
What on earth is {x}?
I'm a student nurse. Can you define {x} for me?
So {x} is what, exactly?
"""

BASES["fundusAppearance"] = """
What does {dx} look like on a fundus photo?
How would {dx} show up on a retinal photograph?
What do haemorrhages look like on a photo?
What signs of {cond} can a grader see on the retina?
How do you spot {dx} on a retinal image
On a picture of the back of the eye, what does {dx} look like?
Fundus features of {cond}?
What would the photographer see if someone had {cond}?
How do {sign} appear on the retina?
What colour and shape are {sign} on the photos?
How do you tell {sign} apart from other spots on a retinal picture?
What does a glaucomatous optic disc look like?
How does a cataract change what you see on the photo?
What does the retina look like in {cond}
Can {cond} be seen on a fundus photograph, and what would it look like?
Which features on a retinal image suggest {cond}?
Optometrist here: classic fundus signs of {cond}?
Describe the appearance of {sign} on fundoscopy
If I looked at a retina photo, how would I recognise {dx}?
What does a healthy optic disc look like compared with a cupped one?
What do graders look for to decide it's {dr}?
What does {dr} look like on the camera images?
How does pathological myopia change the look of the retina?
How does hypertensive damage show on a photograph of the eye?
What are the visual clues of {cond} in a retinal scan
In a fundus image, where are {sign} usually found?
What do bleeds look like on a retinal photo?
How would I recognise {sign} if I saw them on a scan?
Is {cond} visible on photos of the eye, and what does it look like there?
What does the back of the eye look like when someone has {cond}?
Typical photo appearance of {dx}?
Which colour are hard exudates on a retinal photo?
"""

BASES["symptoms"] = """
What are the symptoms of {dx}?
Would I notice if I had {cond}?
Does {cond} hurt?
How does {cond} affect your eyesight?
Can you have {cond} and not know?
Is {cond} painful
What would a person with {cond} notice day to day?
Do {sign} cause blurry vision?
My vision seems fine. Can {cond} still be there without symptoms?
Does {cond} make things look blurry or distorted?
Early warning signs of {cond}?
What does vision feel like with {cond}
Would {sign} make me see spots?
Does {cond} give you headaches?
How would I know if I'm getting {cond}?
Presenting symptoms of {cond}?
Does {cond} affect reading or seeing faces?
Can {cond} cause floaters
Symptoms-wise, what does {cond} do?
Is {cond} silent in the early stages?
Will {cond} make my eyes sore or red?
My {rel} has {cond}. What might they notice?
Does {cond} change how colours look?
Can {cond} cause problems with night vision or glare?
Would you feel anything if there were {sign} in your eye?
Does it hurt to have {cond}, or is it painless?
What are the first things people notice with {cond}
Do people with {cond} get blurred vision?
Could {cond} be the reason someone struggles to read small print?
Does {dx} affect your sight at all?
Would {cond} cause trouble with eyesight before screening finds it?
Are there any symptoms with {sign}?
I've had the same few floaters for years, is that {cond}?
Are floaters I've had for ages a symptom of {cond}?
Would {cond} make me see things floating around?
My eyes feel gritty and dry, is that a sign of {cond}?
Does {cond} cause headaches or an aching eye?
Could {cond} be why street lights look glary at night?
My sight's been getting gradually misty, is that how {cond} starts?
Can you go blind from {cond} without any warning signs?
Is it normal not to notice anything at all with {cond}?
Does {cond} make your eyes water or itch?
Would blurry vision when my sugar is high be {cond}?
What does it feel like when {cond} starts to affect your sight?
I feel fine, so how can I have {cond}?
"""

BASES["causesAndRisks"] = """
What causes {dx}?
Why does {cond} happen?
Who is at risk of {cond}?
Risk factors for {cond}?
Is {cond} hereditary?
Does {cond} run in families
Why do diabetics get {cond}?
What makes {cond} more likely?
Can smoking cause {cond}?
How do {sign} form in the retina?
Is {cond} caused by high blood sugar?
Does high blood pressure raise the risk of {cond}?
Am I more likely to get {cond} because of my age?
What's the mechanism behind {dx}?
Does having diabetes for a long time make {cond} more likely?
Can {cond} be caused by something I did?
Is {cond} genetic
What puts people at higher risk for {cond}
Why do {sign} appear?
Could being very short-sighted lead to {cond}?
Does pregnancy increase the risk of {cond}?
What are the causes of {cond}, in plain words
Does ethnicity affect the chance of getting {cond}?
Where does {dx} come from?
Can stress or too much screen time cause {cond}?
Is {cond} linked to cholesterol?
Why do some diabetics get {cond} and others don't?
How does diabetes damage the retina in the first place?
Why would someone get {dx}?
Is {cond} more common in older people?
Does poor blood sugar control raise the chance of {cond}?
Can {cond} be inherited from your parents?
Is it my fault I've got {cond}?
Did I bring {cond} on myself by not looking after my sugars?
Could my steroid tablets have given me a cataract?
Can steroid inhalers or creams cause cataracts?
I've been on prednisolone for years, could that be behind my {cond}?
Do steroids raise the eye pressure and lead to glaucoma?
Does smoking actually cause {cond} or is that a myth?
Can being pregnant with diabetes damage the eyes?
Why can pregnancy make diabetic retinopathy worse?
Could my gestational diabetes have caused {cond}?
Can working at a screen all day cause {cond}?
Does sunlight cause cataracts?
Why did I get {cond} when I'm only in my forties?
Could an old injury to the eye lead to {cond}?
My dad has glaucoma, does that make me more likely to get it?
Does kidney disease make {cond} more likely?
Could my blood pressure tablets be causing {cond}?
"""

BASES["confirmingExams"] = """
How is {cond} confirmed?
What tests diagnose {cond}?
Which scans are used to check for {cond}?
How do eye doctors diagnose {cond}
Is an OCT scan used for {cond}?
Would a visual field test show {cond}?
What examination confirms {dx}?
Does {cond} need a pressure check to diagnose?
What will the hospital do to test for {cond}?
Is a fluorescein angiogram needed for {cond}?
Can a photo alone diagnose {cond}, or are more tests needed?
What investigations are done if {cond} is suspected?
How do they check for {cond} at the eye clinic?
Which tests tell {cond} apart from similar conditions?
Slit lamp exam for {cond}?
Work-up for suspected {cond}?
Diagnostic tests for {cond} please
How can a specialist be sure it's {cond}?
What exam would confirm {sign}?
Do you need dilating drops to diagnose {cond}?
Is there a blood test for {cond}?
What does the eye clinic use to confirm {cond} after screening flags it?
How is the diagnosis of {cond} made
Would an optician be able to confirm {cond}, and with what test?
What is the gold-standard test for {cond}
Does OCT or a field test confirm {cond}?
What happens at the clinic to find out for sure whether it's {cond}?
Do they do an eye pressure test to confirm {cond}?
How is {cond} diagnosed for certain?
Which imaging confirms {dx}?
Which tests would the ophthalmologist order for {cond}?
Would a scan be needed to confirm {cond}?
Why do I need to see a specialist if the computer already found {cond}?
If the AI spotted it, why does an eye doctor need to check again?
Isn't the screening photo enough to know I've got {cond}?
What does an OCT scan involve, does it hurt?
What happens in an OCT, do they touch the eye?
What's it like having a visual field test for {cond}?
Will they put dye in my arm to check for {cond}?
What will they do to my eyes at the hospital to check for {cond}?
How long do the tests for {cond} take at the clinic?
Do they need to put drops in to check for {cond} properly?
Is the scan for {cond} safe if I'm pregnant?
How do they measure eye pressure when testing for glaucoma, is it the puff of air?
Can the computer be wrong about {cond}, and how would they check?
What's the test with the grid of lines for macular problems?
How does the specialist make sure it really is {cond} and not something else?
"""

BASES["treatmentAndPrevention"] = """
How is {cond} treated?
Can {cond} be cured?
Can {cond} be treated?
Can {cond} be prevented?
What are the treatment options for {cond}
Is {cond} treated with laser?
Do injections work for {cond}?
Does {cond} need surgery?
Will eye drops help {cond}?
How can I stop {cond} from developing?
Does controlling blood sugar prevent {cond}?
What can be done about {dx}?
Is there a cure for {cond}
Management of {cond}?
How do you get rid of {sign}?
What treatments exist for {cond} these days?
Does keeping blood pressure down help prevent {cond}?
Is {cond} fixable?
What does the hospital usually do to treat {cond}
Can {sign} be treated?
How is {cond} managed long term?
Will laser or injections be used for {cond}?
What's the usual therapy for {cond}?
Can anything slow down or reverse {cond}?
How does one avoid getting {cond}?
First-line treatment for {cond}?
Is surgery the only treatment for cataracts?
Can glaucoma be treated?
What's done to treat {dx}?
Is there anything that prevents {cond}?
How do doctors treat {cond} nowadays?
Is {cond} treatable with an operation?
How do the injections for {cond} actually work?
What do they inject into the eye and what does it do?
Why do the eye injections have to be repeated so often?
How does laser stop {cond} getting worse?
Is the laser for {cond} done while I'm awake?
Do glaucoma drops have to be used forever?
Is there an operation for glaucoma if the drops don't work?
Can I stop {cond} spreading to my good eye?
Do eye vitamins do anything for {cond}?
Can steroid injections or implants treat {cond}?
Will treatment bring back the sight I've lost from {cond}?
Can {cond} be kept away just by controlling my sugar?
Is cataract surgery a big operation?
A needle in the eye for {cond}, is that really how it's treated?
What can they do for {cond} if the injections stop working?
"""

BASES["prognosisAndLifestyle"] = """
Will {cond} make me go blind?
What is the outlook for {cond}?
Does {cond} get worse over time?
Can I still drive with {cond}?
What can I do myself to help with {cond}?
Will I be able to keep working with {cond}?
Can I exercise if I have {cond}?
Does diet make a difference to {cond}?
How fast does {cond} progress?
Is {cond} likely to get worse?
Prognosis of {cond}?
Will I lose my sight from {dx}?
Long-term outlook with {cond}
Does stopping smoking help with {cond}?
Can {cond} stay stable for years?
Should I change my lifestyle because of {cond}?
Is it ok to fly with {cond}?
Is it safe to lift weights with {cond}?
What are the chances of {cond} leading to blindness
Will I still be able to read and watch TV with {cond}?
Can {dx} go back to normal on its own?
Can people with {cond} live a normal life?
How does {cond} usually progress over the years?
What's the risk of {cond} getting worse if I keep my sugars good?
Is there anything in my daily routine that would help {cond}?
Can I still use screens and computers with {cond}?
Will my eyesight be ok in ten years with {cond}?
Does {cond} always lead to blindness?
Will {cond} stop me driving?
Can I keep {cond} from getting worse by looking after myself?
What's life like with {cond} long term?
Is it safe to play sport with {cond}?
I'm so scared of going blind from {cond}, is that what usually happens?
honestly will i end up blind from this
Realistically, what are my chances of keeping my sight with {cond}?
I drive for a living, will {cond} mean I lose my licence?
Can I still drive to work with {cond} or will I have to stop?
Am I going to be able to carry on working with {cond}?
Will {cond} stop me doing my job on a computer all day?
Should my brother get his eyes tested now that I've got glaucoma?
Do my children need glaucoma checks because I have it?
My {rel} has glaucoma, should the rest of the family be getting their eyes checked?
Can a cataract come back once it's been taken out?
can cataracts grow back after the op
Is it normal for vision to go cloudy again years after cataract surgery?
If I give up the cigarettes will it help my {cond}?
Will {cond} get worse if I get pregnant?
Is swimming or going to the gym ok with {cond}?
Can I still look after my grandkids with {cond}?
Will I be able to read and keep up my hobbies with {cond} in the long run?
What can I do day to day so {cond} doesn't get worse?
Is going blind from {cond} something that happens to most people?
"""

BASES["urgencyAndReferral"] = """
How urgent is {dx}?
Does {cond} need a referral?
Is {cond} an emergency?
How quickly should {cond} be seen by a specialist?
Which referral does {cond} usually get?
In general, is {cond} routine or urgent?
Should {cond} always be referred to ophthalmology?
What referral pathway applies to {cond}?
How soon should someone with {cond} see an eye doctor?
Is {dr} an urgent referral?
Do {sign} on their own need referral?
Does {cond} get a routine or urgent referral in OphGate?
Is {cond} something that can be watched rather than referred?
Referral criteria for {cond}?
Generally speaking, how fast must {cond} be acted on?
Is {cond} considered referable?
Does {cond} need to be seen within weeks or months?
When does {cond} become urgent?
Typical referral timescale for {cond}
Is {cond} a same-day problem or can it go through the normal route?
Does finding {sign} mean an automatic referral?
Who should {cond} be referred to, and how fast?
What's the standard urgency for {cond} in screening programmes?
Do people with {cond} get sent to hospital straight away?
If screening finds {cond}, how quickly is the person usually seen?
Is {cond} usually monitored in screening or referred?
Does {cond} need an urgent appointment?
Where do you refer {cond}, and how quickly?
Is {cond} a routine referral?
How quickly is {cond} normally dealt with?
Would {cond} be sent to the eye clinic as urgent or routine?
What's the usual referral urgency for {dr}?
Do I need to rush to A&E with {cond}?
Is {cond} the kind of thing you go to eye casualty for?
Is {cond} a reason to go to hospital today?
Does a referral for {cond} mean it's serious?
Why does {cond} get referred if I can still see fine?
If I'm referred for {cond}, how long is the usual wait?
Does {cond} ever turn into an emergency?
Which symptoms with {cond} mean going to hospital the same day?
My GP said {cond} isn't urgent, is that normal?
Is being referred for {cond} something to panic about?
Would {cond} be sent to a specialist or just kept an eye on at screening?
How worried should I be that {cond} got an urgent referral?
"""

# ---------------------------------------------------------------- expansion

SLOT_RE = re.compile(r"\{(\w+)\}")
US_SPELLING = [("haemorrhage", "hemorrhage"), ("oedema", "edema"), ("colour", "color"), ("centre", "center"),
               ("summarise", "summarize"), ("recognise", "recognize"), ("optic disc", "optic disk"),
               ("programme", "program"), ("mum", "mom"), ("grey", "gray"), ("practise", "practice"), ("optician", "optometrist")]
# keep acronyms, "I" and grade codes capitalised when an opener goes in front
KEEP_CASE = re.compile(r"^(I\b|I'|[A-Z]{2,}|[A-Z]\d|[RL]\b|OphGate)")


def base_id(intent: str, text: str) -> str:
    """Stable as long as the hand-written wording is unchanged (insertions elsewhere do not move it)."""
    return f"{intent}/{hashlib.sha1(text.encode('utf8')).hexdigest()[:10]}"


def bases() -> list[tuple[str, str, str]]:
    """(intent, base id, base text) for every hand-written base, in a fixed order."""
    return [(intent, base_id(intent, q), q) for intent in INTENTS for q in parse(BASES[intent])]


def fill(text: str, rng: random.Random) -> str:
    return SLOT_RE.sub(lambda m: rng.choice(SLOTS[m.group(1)]), text)


def surface(intent: str, base: str, rng: random.Random, plain: bool) -> str:
    text = fill(base, rng)
    if plain:
        return text
    opener = fill(rng.choice(openers_for(intent, base)), rng)
    if opener:
        first = text if KEEP_CASE.match(text) else text[0].lower() + text[1:]
        text = f"{opener} {first}"
    return noisy(text, rng, None, US_SPELLING)


def forms_wanted(rng: random.Random) -> int:
    return rng.randint(3, 6)


def generate(seed: int) -> list[dict]:
    """Records {question, intent, base (id), text (the base)}; no question text appears twice in the bank."""
    rng = random.Random(seed)
    seen: set[str] = set()
    out: list[dict] = []
    for intent, bid, base in bases():
        want = forms_wanted(rng)
        got = 0
        for attempt in range(want * 8):
            if got >= want:
                break
            q = re.sub(r"\s+", " ", surface(intent, base, rng, plain=attempt == 0)).strip()
            key = q.lower()
            if not q or key in seen:
                continue
            seen.add(key)
            out.append({"question": q, "intent": intent, "base": bid, "text": base})
            got += 1
    rng.shuffle(out)
    return out


def val_bases(seed: int) -> set[str]:
    """A tenth of each intent's bases (at least one), ranked by a hash of seed and base id, so every intent is
    on both sides of the split and a base never straddles it."""
    by_intent: dict[str, list[str]] = {}
    for intent, bid, _text in bases():
        by_intent.setdefault(intent, []).append(bid)
    chosen: set[str] = set()
    for ids in by_intent.values():
        ranked = sorted(set(ids), key=lambda b: hashlib.sha256(f"{seed}:{b}".encode("utf8")).hexdigest())
        chosen.update(ranked[:max(1, round(len(ranked) / 10))])
    return chosen


def rows(seed: int) -> list[dict]:
    val = val_bases(seed)
    return [{"question": r["question"], "intent": r["intent"], "base": r["base"],
             "split": "val" if r["base"] in val else "train"} for r in generate(seed)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--seed", type=int, default=6)
    args = ap.parse_args(argv)
    out = rows(args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as f:
        for r in out:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    lines = Counter((r["intent"], r["split"]) for r in out)
    nbases = Counter((intent, split) for _b, intent, split in {(r["base"], r["intent"], r["split"]) for r in out})
    print(f"wrote {len(out)} questions to {args.out} (seed {args.seed})")
    print(f"  {'intent':24s} {'train':>6s} {'val':>5s}   bases train/val")
    for intent in INTENTS:
        print(f"  {intent:24s} {lines[intent, 'train']:6d} {lines[intent, 'val']:5d}   "
              f"{nbases[intent, 'train']:4d}/{nbases[intent, 'val']:d}")
    print(f"  {'total':24s} {sum(v for (i, s), v in lines.items() if s == 'train'):6d} "
          f"{sum(v for (i, s), v in lines.items() if s == 'val'):5d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
