"""Applications of recurrent networks, each a small module with a documented API, an example
script, a recipe for ``glassnet train`` and a test on a slice of the real data:

- :mod:`glassnet.apps.speech`: spoken-digit recognition (Free Spoken Digit Dataset).
- :mod:`glassnet.apps.music`: polyphonic music modelling (JSB Chorales piano rolls).
- :mod:`glassnet.apps.translation`: English→French translation with attention.

Import the module you need; nothing is imported here.
"""
