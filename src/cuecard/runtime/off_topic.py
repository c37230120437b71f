"""What callers say that no support agent's trainings answer: the ranker's background.

A turn closer to these than to a training is small talk or a request for something else, so it
retrieves nothing (`cuecard.runtime.retrieval`, "Relevance"). They name no product, shop or
service on purpose, and the index of an agent leaves out any of them that is close to one of its
own trainings (a bus company's agent keeps no "what time does the bus leave"): see
`BACKGROUND_MAX_SIMILARITY` in cuecard.runtime.retrieval. Changing them changes what retrieves
nothing: re-tune with `bench/retrieval_bench.py --tune` (dev half) and re-measure.
"""

from __future__ import annotations

BACKGROUND: tuple[str, ...] = (
    "what's the weather going to be like tomorrow",
    "who won the match last night",
    "tell me something funny",
    "what's the capital of France",
    "can you recommend a good book to read",
    "how many calories are in a banana",
    "what should I cook for dinner tonight",
    "play some music for me",
    "what's in the news today",
    "how do I get to the train station from here",
    "I need to see a doctor about my back",
    "how old are you",
    "what's your name",
    "do you like football",
    "I'm bored, talk to me",
    "what's the meaning of life",
    "how do you say thank you in French",
    "what's seven times eight",
    "recommend a film for tonight",
    "book me a flight to Madrid",
    "I'm looking for a plumber",
    "what's a good recipe for soup",
    "how tall is Mount Everest",
    "can you help me with my homework",
    "let's talk about politics",
    "what are you doing this weekend",
    "good morning, how are you today",
    "where is the nearest petrol station",
    "what time does the bus leave",
)
