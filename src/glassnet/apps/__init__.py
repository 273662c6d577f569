"""Applications of recurrent networks, each a small module with a documented API, an example
script, a recipe for ``glassnet train`` and a test on a slice of the real data:

- :mod:`glassnet.apps.speech`: spoken-digit recognition (Free Spoken Digit Dataset).
- :mod:`glassnet.apps.music`: polyphonic music modelling (JSB Chorales piano rolls).
- :mod:`glassnet.apps.translation`: English→French translation with attention.
- :mod:`glassnet.apps.text`: character-level LSTM language model (Tiny Shakespeare),
  ``glassnet generate``.
- :mod:`glassnet.apps.video`: ConvLSTM next-frame prediction on Moving MNIST.

Import the module you need; nothing is imported here.
"""
