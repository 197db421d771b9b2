"""Resumable training (issue #16, section 2): ``Optimizer.state_dict`` / ``load_state_dict``,
``model.save(path, include_optimizer=True)`` and ``ModelCheckpoint(include_optimizer=True)``.

The central check: 2 epochs, save, load in a fresh Python process, 1 more epoch gives exactly
the weights, optimizer state and generator state of 3 epochs straight. The code path of the
resumed run is the one of the straight run (same arrays, same order of operations, same random
draws), so the comparison is exact equality, not a tolerance.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import scratchnn as snn
from scratchnn import activations as A
from scratchnn import callbacks as cbks
from scratchnn import optimizers as O
from scratchnn import schedules as S
from scratchnn.core import Parameter
from scratchnn.layers import BatchNorm, Dense, Dropout

# Every optimizer class and option of optimizers.py; three carry a schedule.
OPTIMIZERS = {
    "SGD": lambda: O.SGD(lr=0.1),
    "SGD-StepDecay": lambda: O.SGD(lr=S.StepDecay(0.1, step_size=5, gamma=0.5)),
    "Momentum": lambda: O.Momentum(lr=0.05, beta=0.9),
    "Nesterov": lambda: O.Momentum(lr=S.ExponentialDecay(0.05, 0.9, decay_steps=4), beta=0.8,
                                   nesterov=True, weight_decay=1e-3, clip_norm=2.0),
    "RMSProp": lambda: O.RMSProp(lr=0.01, rho=0.9),
    "Adam": lambda: O.Adam(lr=0.01),
    "Adam-Warmup-Cosine": lambda: O.Adam(lr=S.LinearWarmup(S.CosineDecay(0.02, total_steps=30),
                                                           warmup_steps=6, start_factor=0.1)),
    "AdamW": lambda: O.AdamW(lr=0.01, weight_decay=0.05),
}

# 100 samples in batches of 16: 7 updates per epoch, so the save (after 14) falls between
# two state flushes (every 8 updates) and the last batch of an epoch is a short one.
FIT = {"batch_size": 16, "verbose": 0}


def blobs(n=100, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = rng.standard_normal((n, 4)) + 2.0 * np.eye(3, 4)[y]
    return x.astype(np.float32), y


def network(optimizer, seed=0):
    """Batch norm and dropout included: their buffers and random masks must resume too."""
    model = snn.Sequential([Dense(4, 16), BatchNorm(16), A.ReLU(), Dropout(0.2), Dense(16, 3)],
                           seed=seed)
    return model.compile("cross_entropy", optimizer, metrics=["accuracy"])


def assert_same_training_state(a, b):
    """Weights (with batch-norm statistics), optimizer state and generator state are equal."""
    wa, wb = a.get_weights(), b.get_weights()
    assert len(wa) == len(wb)
    for x, y in zip(wa, wb, strict=True):
        np.testing.assert_array_equal(x, y)
    sa, sb = a.optimizer.state_dict(), b.optimizer.state_dict()
    assert sa["iterations"] == sb["iterations"]
    assert sa["state"].keys() == sb["state"].keys()
    for name, entry in sa["state"].items():
        assert entry.keys() == sb["state"][name].keys(), name
        for key, value in entry.items():
            np.testing.assert_array_equal(value, sb["state"][name][key], err_msg=f"{name}.{key}")
    assert a.optimizer.current_lr == b.optimizer.current_lr
    assert a.rng.bit_generator.state == b.rng.bit_generator.state


# --------------------------------------------------------------------------------------------
# Optimizer.state_dict / load_state_dict
# --------------------------------------------------------------------------------------------

def make_params(seed=0):
    rng = np.random.default_rng(seed)
    return [Parameter(rng.standard_normal((3, 4)), "dense_0.W"),
            Parameter(rng.standard_normal(4), "dense_0.b")]


def run_steps(opt, params, steps, first=0):
    for step in range(first, first + steps):
        rng = np.random.default_rng(step)
        for p in params:
            p.grad = rng.standard_normal(p.value.shape)
        opt.step(params)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_state_dict_holds_plain_arrays_and_step_counts(name):
    opt, params = OPTIMIZERS[name](), make_params()
    run_steps(opt, params, 3)
    state = opt.state_dict()
    assert set(state) == {"iterations", "state"} and state["iterations"] == 3
    assert list(state["state"]) == ["dense_0.W", "dense_0.b"]
    for p in params:
        entry = state["state"][p.name]
        assert "scratch" not in entry  # the update rules' temporaries are not state
        for key, value in entry.items():
            if isinstance(value, np.ndarray):
                assert value.shape == p.value.shape and value.dtype == p.value.dtype
            else:
                assert type(value) is int and key == "t" and value == 3
    expected_keys = {"SGD": set(), "Momentum": {"velocity"}, "Nesterov": {"velocity"},
                     "RMSProp": {"sq_avg"}, "Adam": {"m", "v", "t"}, "AdamW": {"m", "v", "t"}}
    assert set(state["state"]["dense_0.W"]) == expected_keys[name.split("-")[0]]


def test_state_dict_is_a_copy():
    opt, params = O.Adam(lr=0.1), make_params()
    run_steps(opt, params, 2)
    state = opt.state_dict()
    m = state["state"]["dense_0.W"]["m"]
    kept = m.copy()
    run_steps(opt, params, 1, first=2)          # later steps do not change the snapshot ...
    np.testing.assert_array_equal(m, kept)
    assert state["state"]["dense_0.W"]["t"] == 2 and state["iterations"] == 2
    m[...] = 7.0                                 # ... and editing the snapshot changes nothing
    assert not np.any(opt.state_dict()["state"]["dense_0.W"]["m"] == 7.0)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_load_state_dict_resumes_exactly(name):
    straight, params_a = OPTIMIZERS[name](), make_params()
    run_steps(straight, params_a, 10)

    first, params_b = OPTIMIZERS[name](), make_params()
    run_steps(first, params_b, 6)
    saved = first.state_dict()
    resumed = OPTIMIZERS[name]()
    resumed.load_state_dict(saved, params_b)
    assert resumed.iterations == 6 and resumed.current_lr == first.current_lr
    run_steps(resumed, params_b, 4, first=6)
    for a, b in zip(params_a, params_b, strict=True):
        np.testing.assert_array_equal(a.value, b.value)
    assert resumed.iterations == straight.iterations == 10


def test_load_state_dict_copies_and_never_mutates_its_argument():
    opt, params = O.Momentum(lr=0.1), make_params()
    run_steps(opt, params, 2)
    saved = opt.state_dict()
    before = {k: v.copy() for k, v in saved["state"]["dense_0.W"].items()}
    fresh = O.Momentum(lr=0.1)
    fresh.load_state_dict(saved, params)
    run_steps(fresh, params, 3, first=2)         # the loaded arrays are updated in place ...
    for k, v in saved["state"]["dense_0.W"].items():
        np.testing.assert_array_equal(v, before[k])  # ... but they are the optimizer's copies
    assert saved["iterations"] == 2


def test_load_state_dict_casts_to_the_parameter_dtype():
    params = [Parameter(np.zeros((2, 2), np.float32), "w")]
    opt = O.RMSProp()
    opt.load_state_dict({"iterations": 1, "state": {"w": {"sq_avg": np.ones((2, 2))}}}, params)
    assert opt.state_dict()["state"]["w"]["sq_avg"].dtype == np.float32


def test_parameters_without_saved_state_start_fresh():
    opt, params = O.Adam(), make_params()
    opt.load_state_dict({"iterations": 0, "state": {}}, params)
    assert opt.state_dict() == {"iterations": 0, "state": {}}
    run_steps(opt, params, 1)
    assert opt.state_dict()["state"]["dense_0.W"]["t"] == 1


@pytest.mark.parametrize("edit, error, match", [
    (lambda s: s.pop("iterations"), ValueError, r"missing \['iterations'\]"),
    (lambda s: s.update(param_groups=[]), ValueError, r"unexpected \['param_groups'\]"),
    (lambda s: s.update(iterations=-1), ValueError, r"iterations must be a non-negative int"),
    (lambda s: s.update(iterations=True), ValueError, r"iterations must be a non-negative int"),
    (lambda s: s["state"].update(**{"dense_9.W": {}}), ValueError,
     r"'dense_9.W'.*not among the parameters.*'dense_0.W', 'dense_0.b'"),
    (lambda s: s["state"]["dense_0.W"].pop("v"), ValueError, r"dense_0.W.*missing \['v'\]"),
    (lambda s: s["state"]["dense_0.b"].update(scratch=np.zeros(4)), ValueError,
     r"dense_0.b.*unexpected \['scratch'\]"),
    (lambda s: s["state"]["dense_0.W"].update(m=np.zeros((4, 3))), ValueError,
     r"dense_0.W: 'm' has shape \(4, 3\) but the parameter has shape \(3, 4\)"),
    (lambda s: s["state"]["dense_0.W"].update(m=np.zeros((3, 4), int)), ValueError,
     r"dense_0.W: 'm' must be a float array"),
    (lambda s: s["state"]["dense_0.b"].update(t=-2), ValueError,
     r"dense_0.b: 't' must be a non-negative int, got -2"),
    (lambda s: s["state"]["dense_0.b"].update(t=np.zeros(4)), ValueError,
     r"dense_0.b: 't' must be a non-negative int"),
    (lambda s: s.update(state=[]), ValueError, r"'state' must be a dict"),
])
def test_load_state_dict_says_what_is_wrong(edit, error, match):
    opt, params = O.Adam(), make_params()
    run_steps(opt, params, 2)
    saved = opt.state_dict()
    edit(saved)
    fresh = O.Adam()
    with pytest.raises(error, match=match) as info:
        fresh.load_state_dict(saved, params)
    assert str(info.value).startswith("Adam.load_state_dict:")
    assert fresh.iterations == 0 and fresh.state_dict()["state"] == {}  # nothing half-loaded


def test_state_of_another_optimizer_class_is_refused():
    opt, params = O.Adam(), make_params()
    run_steps(opt, params, 1)
    with pytest.raises(ValueError, match=r"Momentum.load_state_dict: dense_0.W: .*missing "
                                         r"\['velocity'\].*unexpected \['m', 't', 'v'\]"):
        O.Momentum().load_state_dict(opt.state_dict(), params)


def test_parameter_names_must_be_unique():
    params = [Parameter(np.zeros(2), "param"), Parameter(np.zeros(2), "param")]
    for p in params:
        p.grad = np.ones(2)
    opt = O.Momentum()
    opt.step(params)
    with pytest.raises(ValueError, match=r"state_dict: two parameters are named 'param'"):
        opt.state_dict()
    with pytest.raises(ValueError, match=r"load_state_dict: two parameters are named 'param'"):
        O.Momentum().load_state_dict({"iterations": 0, "state": {}}, params)


# --------------------------------------------------------------------------------------------
# save(include_optimizer=True) / load_model: resume in a fresh process
# --------------------------------------------------------------------------------------------

RESUME = """
import sys
import numpy as np
import scratchnn as snn

model = snn.load_model(sys.argv[1])
with np.load(sys.argv[2]) as data:
    x, y = data["x"], data["y"]
model.fit(x, y, epochs=1, batch_size=16, verbose=0)
model.save(sys.argv[3])
"""


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_resume_in_a_fresh_process_equals_training_straight_through(tmp_path, name):
    x, y = blobs()
    straight = network(OPTIMIZERS[name]())
    straight.fit(x, y, epochs=3, **FIT)

    interrupted = network(OPTIMIZERS[name]())
    interrupted.fit(x, y, epochs=2, **FIT)
    interrupted.save(tmp_path / "after2.npz", include_optimizer=True)
    np.savez(tmp_path / "data.npz", x=x, y=y)
    subprocess.run([sys.executable, "-c", RESUME, "after2.npz", "data.npz", "after3.npz"],
                   cwd=tmp_path, check=True, capture_output=True, timeout=300)
    resumed = snn.load_model(tmp_path / "after3.npz")
    assert type(resumed.optimizer) is type(straight.optimizer)
    assert resumed.optimizer.get_config() == straight.optimizer.get_config()
    assert resumed.optimizer.iterations == 21
    assert_same_training_state(resumed, straight)
    np.testing.assert_array_equal(resumed.predict(x), straight.predict(x))


def test_the_model_generator_is_part_of_the_training_state(tmp_path):
    """Shuffling and dropout draw from model.rng: without its state the resumed epoch would
    see other batches and other masks."""
    x, y = blobs()
    model = network(O.SGD(lr=0.1))
    model.fit(x, y, epochs=1, **FIT)
    model.save(tmp_path / "m.npz")
    loaded = snn.load_model(tmp_path / "m.npz")
    assert loaded.rng.bit_generator.state == model.rng.bit_generator.state
    assert [layer.rng for layer in loaded.layers if isinstance(layer, Dropout)] == [loaded.rng]
    np.testing.assert_array_equal(loaded.rng.permutation(100), model.rng.permutation(100))


def test_loaded_schedule_is_where_it_was(tmp_path):
    x, y = blobs()
    model = network(O.Adam(lr=S.LinearWarmup(S.CosineDecay(0.02, total_steps=30),
                                             warmup_steps=6, start_factor=0.1)))
    model.fit(x, y, epochs=1, **FIT)
    model.save(tmp_path / "m.npz")
    loaded = snn.load_model(tmp_path / "m.npz")
    assert isinstance(loaded.optimizer.lr, S.LinearWarmup)
    assert isinstance(loaded.optimizer.lr.after, S.CosineDecay)
    assert vars(loaded.optimizer.lr.after) == vars(model.optimizer.lr.after)
    assert loaded.optimizer.iterations == 7
    assert loaded.optimizer.current_lr == model.optimizer.current_lr == \
        model.optimizer.lr(7) != model.optimizer.lr(0)


def test_file_layout_with_the_optimizer(tmp_path):
    x, y = blobs()
    model = network(O.Adam(lr=0.01))
    model.fit(x, y, epochs=1, **FIT)
    model.save(tmp_path / "m.npz")  # include_optimizer=True is the default (as in Keras)
    with np.load(tmp_path / "m.npz", allow_pickle=False) as f:
        files = set(f.files)
        config = json.loads(str(f["__config__"]))
        m = f["optimizer:dense_0.W.m"]
    assert config["version"] == 2
    assert {k for k in files if k.startswith("optimizer:")} == {
        f"optimizer:{p}.{k}" for p in ("dense_0.W", "dense_0.b", "batchnorm_0.gamma",
                                       "batchnorm_0.beta", "dense_1.W", "dense_1.b")
        for k in ("m", "v")}
    np.testing.assert_array_equal(m, model.optimizer.state_dict()["state"]["dense_0.W"]["m"])
    assert config["optimizer_state"]["iterations"] == 7
    assert config["optimizer_state"]["params"]["dense_1.b"] == {"t": 7}
    assert config["rng_state"]["bit_generator"] == "PCG64"


def test_include_optimizer_false_keeps_the_compile_settings_only(tmp_path):
    x, y = blobs()
    model = network(O.Momentum(lr=0.05, nesterov=True))
    model.fit(x, y, epochs=1, **FIT)
    model.save(tmp_path / "m.npz", include_optimizer=False)
    with np.load(tmp_path / "m.npz", allow_pickle=False) as f:
        assert not [k for k in f.files if k.startswith("optimizer:")]
        config = json.loads(str(f["__config__"]))
    assert "optimizer_state" not in config and "rng_state" not in config
    loaded = snn.load_model(tmp_path / "m.npz")
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    assert loaded.optimizer.iterations == 0 and loaded.optimizer.state_dict()["state"] == {}


def test_a_version_1_file_still_loads(tmp_path):
    """The layout written before include_optimizer existed, built by hand."""
    model = snn.Sequential([Dense(3, 4), BatchNorm(4), A.ReLU(), Dense(4, 2)], seed=0)
    config = {"format": "scratchnn-model", "version": 1, "dtype": "float32",
              "layers": [{"class": type(layer).__name__, "name": layer.name,
                          "config": layer.get_config()} for layer in model.layers],
              "loss": {"class": "CrossEntropy", "config": {"from_logits": True}},
              "metrics": ["accuracy"],
              "optimizer": {"class": "Adam", "config": {"lr": 0.01, "weight_decay": 0.0,
                                                        "clip_norm": None, "beta1": 0.9,
                                                        "beta2": 0.999, "eps": 1e-8}}}
    arrays = {"__config__": np.array(json.dumps(config))}
    arrays.update({f"param:{p.name}": p.value for p in model.parameters()})
    arrays.update({f"buffer:batchnorm_0.{k}": v for k, v in model.layers[1].buffers().items()})
    np.savez(tmp_path / "v1.npz", **arrays)
    loaded = snn.load_model(tmp_path / "v1.npz")
    x = np.random.default_rng(0).standard_normal((5, 3))
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert type(loaded.optimizer) is O.Adam and loaded.optimizer.iterations == 0


# --------------------------------------------------------------------------------------------
# Tampered training state
# --------------------------------------------------------------------------------------------

@pytest.fixture
def saved(tmp_path):
    x, y = blobs()
    model = network(O.Adam(lr=0.01))
    model.fit(x, y, epochs=1, **FIT)
    model.save(tmp_path / "good.npz")
    with np.load(tmp_path / "good.npz", allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    return tmp_path, arrays, json.loads(str(arrays.pop("__config__")))


def rejected(tmp_path, arrays, config, match):
    path = tmp_path / "bad.npz"
    np.savez(path, __config__=np.array(json.dumps(config)), **arrays)
    with pytest.raises(ValueError, match=match) as info:
        snn.load_model(path)
    assert f"load_model: {path} is not a valid scratchnn model file" in str(info.value)


def test_good_training_state_loads(saved):
    tmp_path, arrays, config = saved
    np.savez(tmp_path / "same.npz", __config__=np.array(json.dumps(config)), **arrays)
    assert snn.load_model(tmp_path / "same.npz").optimizer.iterations == 7


def test_optimizer_array_with_the_wrong_shape(saved):
    tmp_path, arrays, config = saved
    arrays["optimizer:dense_0.W.v"] = np.zeros((16, 4), np.float32)
    rejected(tmp_path, arrays, config, r"dense_0.W: 'v' has shape \(16, 4\) but the parameter "
                                       r"has shape \(4, 16\)")


def test_optimizer_array_that_is_not_finite(saved):
    tmp_path, arrays, config = saved
    arrays["optimizer:dense_1.b.m"] = np.full(3, np.nan, np.float32)
    rejected(tmp_path, arrays, config, r"optimizer:dense_1.b.m contains NaN or inf")


def test_optimizer_array_of_an_unknown_parameter(saved):
    tmp_path, arrays, config = saved
    arrays["optimizer:dense_7.W.m"] = np.zeros(3, np.float32)
    rejected(tmp_path, arrays, config, r"optimizer:dense_7.W.m.*no entry for 'dense_7.W'")


def test_optimizer_state_key_missing(saved):
    tmp_path, arrays, config = saved
    del arrays["optimizer:dense_0.b.v"]
    rejected(tmp_path, arrays, config, r"dense_0.b: .*missing \['v'\]")


@pytest.mark.parametrize("edit, match", [
    (lambda c: c["optimizer_state"].update(iterations="7"), r"iterations must be a non-negative"),
    (lambda c: c["optimizer_state"].update(params=[]), r"optimizer_state"),
    (lambda c: c.update(optimizer_state=3), r"optimizer_state"),
    (lambda c: c["optimizer_state"]["params"]["dense_1.b"].update(t=1.5),
     r"dense_1.b: 't' must be a non-negative int"),
    (lambda c: c.pop("optimizer"), r"optimizer_state.*without an optimizer"),
    (lambda c: c["rng_state"].update(bit_generator="os.system"), r"rng_state"),
    (lambda c: c["rng_state"]["state"].update(state="zero"), r"rng_state"),
    (lambda c: c.update(rng_state=[1, 2]), r"rng_state"),
])
def test_bad_training_state_in_the_config(saved, edit, match):
    tmp_path, arrays, config = saved
    edit(config)
    rejected(tmp_path, arrays, config, match)


# --------------------------------------------------------------------------------------------
# ModelCheckpoint(include_optimizer=True): resume an interrupted run
# --------------------------------------------------------------------------------------------

class PowerCut(cbks.Callback):
    """Interrupts training at the start of epoch ``at``, as a crash would."""

    def __init__(self, at):
        self.at = at

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.at:
            raise RuntimeError("power cut")


@pytest.mark.parametrize("name", ["Nesterov", "Adam-Warmup-Cosine"])
def test_model_checkpoint_resumes_an_interrupted_run(tmp_path, name):
    x, y = blobs()
    straight = network(OPTIMIZERS[name]())
    straight.fit(x, y, epochs=3, validation_split=0.2, **FIT)

    model = network(OPTIMIZERS[name]())
    checkpoint = cbks.ModelCheckpoint(tmp_path / "ckpt-{epoch:02d}.npz", include_optimizer=True)
    with pytest.raises(RuntimeError, match="power cut"):
        model.fit(x, y, epochs=3, validation_split=0.2, callbacks=[checkpoint, PowerCut(2)],
                  **FIT)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt-01.npz", "ckpt-02.npz"]
    resumed = snn.load_model(tmp_path / "ckpt-02.npz")
    resumed.fit(x, y, epochs=1, validation_split=0.2, **FIT)
    assert_same_training_state(resumed, straight)


def test_model_checkpoint_without_the_optimizer(tmp_path):
    x, y = blobs()
    model = network(O.Adam())
    model.fit(x, y, epochs=1, callbacks=[
        cbks.ModelCheckpoint(tmp_path / "w.npz", include_optimizer=False),
        cbks.ModelCheckpoint(tmp_path / "full.npz")], **FIT)
    assert snn.load_model(tmp_path / "w.npz").optimizer.iterations == 0
    assert snn.load_model(tmp_path / "full.npz").optimizer.iterations == 7


def test_initial_epoch_resumes_an_epoch_schedule_and_the_epoch_numbers(tmp_path):
    # A LearningRateScheduler schedules by epoch: without initial_epoch the resumed run
    # started its schedule again from epoch 0 (and differed from the straight run)
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((48, 3)), rng.integers(0, 2, 48)

    def run(epochs, initial_epoch=0, model=None):
        model = model or snn.Sequential([Dense(3, 8), A.ReLU(), Dense(8, 2)], seed=0)
        if model.loss is None:
            model.compile("cross_entropy", O.SGD(0.1))
        history = model.fit(x, y, epochs=epochs, initial_epoch=initial_epoch, batch_size=16,
                            verbose=0, callbacks=[cbks.LearningRateScheduler(
                                lambda epoch: 0.1 * 0.5 ** epoch)])
        return model, history

    straight, _ = run(5)
    first, _ = run(2)
    first.save(tmp_path / "m.npz")
    resumed, history = run(5, initial_epoch=2, model=snn.load_model(tmp_path / "m.npz"))
    assert history.epoch == [2, 3, 4]
    assert history.history["lr"] == pytest.approx([0.025, 0.0125, 0.00625])
    for a, b in zip(resumed.get_weights(), straight.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="initial_epoch must be a non-negative integer"):
        resumed.fit(x, y, initial_epoch=-1, verbose=0)
