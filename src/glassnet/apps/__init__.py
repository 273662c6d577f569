"""Applications of recurrent networks, each a registered task of :mod:`glassnet.runs` trained
through :func:`glassnet.train.fit` (``glassnet train RECIPE.toml``), with an example script,
a recipe and a test on a slice of the real data:

- :mod:`glassnet.apps.speech`: spoken-digit recognition (Free Spoken Digit Dataset, or a
  folder of WAV files per label).
- :mod:`glassnet.apps.speech_ctc`: connected spoken digits, CTC (``glassnet transcribe``).
- :mod:`glassnet.apps.music`: polyphonic music modelling (JSB Chorales piano rolls, MIDI).
- :mod:`glassnet.apps.translation`: sentence translation with attention (``glassnet
  translate``).
- :mod:`glassnet.apps.video`: ConvLSTM next-frame prediction on Moving MNIST.
- :mod:`glassnet.apps.text`: the older char-LSTM recipes (``task = "text"``), now trained by
  the ``text_generation`` task; their runs still work with ``glassnet generate``.

Import the module you need; nothing is imported here.
"""
