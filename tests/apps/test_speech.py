"""glassnet.apps.speech: mel filterbank and log-mel features against librosa, WAV reading,
the conv-GRU classifier, and a few training steps on a slice of the real FSDD recordings."""

import numpy as np
import pytest

from glassnet.apps import speech as S
from tests.apps.speech_helpers import DATA, FSDD, needs_data


@pytest.mark.parametrize("sr,n_fft,n_mels,fmin,fmax", [(8000, 256, 40, 0.0, None),
                                                       (16000, 512, 64, 20.0, 7600.0)])
def test_mel_filterbank_matches_librosa(sr, n_fft, n_mels, fmin, fmax):
    librosa = pytest.importorskip("librosa")
    ours = S.mel_filterbank(sr, n_fft, n_mels, fmin, fmax)
    ref = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax)
    assert ours.shape == ref.shape == (n_mels, 1 + n_fft // 2)
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-7 * ref.max())


def test_mel_filterbank_rows_are_unit_area_triangles():
    sr, n_fft = 8000, 4096                       # fine bins: the sum approximates the integral
    fb = S.mel_filterbank(sr, n_fft, 40)
    assert (fb >= 0).all()
    np.testing.assert_allclose(fb.sum(1) * sr / n_fft, 1.0, rtol=0.02)
    assert (np.diff(fb.argmax(1)) > 0).all()     # centres rise with the row index
    with pytest.raises(ValueError, match="n_mels"):
        S.mel_filterbank(8000, 256, 0)
    with pytest.raises(ValueError, match="fmax"):
        S.mel_filterbank(8000, 256, 40, fmax=5000)


@needs_data
def test_log_mel_matches_librosa_melspectrogram():
    librosa = pytest.importorskip("librosa")
    from scipy.signal import get_window
    x = S.read_wav(FSDD / "3_jackson_0.wav")
    assert x.dtype == np.float32 and x.ndim == 1 and np.abs(x).max() <= 1
    ours = S.log_mel(x)
    ref = librosa.feature.melspectrogram(y=x, sr=8000, n_fft=256, hop_length=80, n_mels=40,
                                         center=True, pad_mode="constant")
    assert ours.shape[1] == 40 and ours.shape[0] in (ref.shape[1], ref.shape[1] + 1)
    # scipy's stft divides by sum(window); librosa does not.
    power = np.exp(ours[:ref.shape[1]].T.astype(np.float64)) * get_window("hann", 256).sum() ** 2
    np.testing.assert_allclose(power, ref, rtol=1e-3, atol=1e-4 * ref.max())


def test_read_wav_rejects_other_rates(tmp_path):
    from scipy.io import wavfile
    path = tmp_path / "x.wav"
    wavfile.write(path, 16000, np.zeros(1600, np.int16))
    with pytest.raises(ValueError, match="8000 Hz"):
        S.read_wav(path)
    with pytest.raises(FileNotFoundError):
        S.read_wav(tmp_path / "missing.wav")


def test_pad_frames_and_model_shapes():
    feats = [np.ones((30, 40), np.float32), np.ones((90, 40), np.float32)]
    x = S.pad_frames(feats, np.zeros(40, np.float32), np.ones(40, np.float32))
    assert x.shape == (2, S.MAX_FRAMES, 41)
    assert x[0, :, -1].sum() == 30 and x[1, :, -1].sum() == S.MAX_FRAMES
    assert (x[0, 30:] == 0).all()
    model = S.SpeechDigitNet(40, channels=8, hidden=8)
    assert model(x).shape == (2, 10)
    with pytest.raises(ValueError, match=r"SpeechDigitNet\(n_mels=40\).*\(N, T, 41\)"):
        model(np.zeros((2, 10, 40), np.float32))


def test_padding_does_not_change_the_prediction():
    model = S.SpeechDigitNet(40, channels=8, hidden=8).eval()
    rng = np.random.default_rng(0)
    f = rng.standard_normal((24, 40)).astype(np.float32)
    alone = S.pad_frames([f], np.zeros(40, np.float32), np.ones(40, np.float32))
    long = S.pad_frames([f, np.ones((64, 40), np.float32)], np.zeros(40, np.float32),
                        np.ones(40, np.float32))
    np.testing.assert_allclose(model(alone).array[0], model(long).array[0], rtol=1e-5, atol=1e-6)


@needs_data
def test_training_on_a_slice_lowers_the_loss_and_predict_cli(tmp_path, capsys):
    from glassnet.cli import main
    recipe = S.SpeechRecipe(max_files=80, epochs=4, channels=16, hidden=16, lr=0.01,
                            data_dir=str(DATA))
    res = S.train_speech(recipe, tmp_path / "run", verbose=False)
    loss = res["history"]["loss"]
    assert loss[-1] < loss[0] - 0.1, loss
    assert res["n_train"] + res["n_test"] == 80
    assert main(["predict", str(tmp_path / "run"), str(FSDD / "7_theo_3.wav")]) == 0
    out = capsys.readouterr().out
    assert "predicted" in out and "7_theo_3.wav" in out
    digit, p = S.predict_wav(tmp_path / "run", FSDD / "7_theo_3.wav")
    assert 0 <= digit <= 9 and p.shape == (10,) and abs(p.sum() - 1) < 1e-6


def test_recipe_validation():
    with pytest.raises(ValueError, match="split"):
        S.SpeechRecipe(split="by-colour")
    with pytest.raises(ValueError, match="test_speaker"):
        S.SpeechRecipe(test_speaker="nobody")
    with pytest.raises(ValueError, match="epochs"):
        S.SpeechRecipe(epochs=0)
