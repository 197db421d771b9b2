"""Saving and loading models: one ``.npz`` file holding a JSON config and the arrays.

Nothing is ever unpickled (``allow_pickle=False``) and no module is ever imported: a file can
only describe classes of :mod:`scratchnn.registry` (the built-ins, and the classes of yours
defined or imported before loading, which register themselves), built from plain JSON values,
and every array is checked against the shape its layer expects, so a malformed or tampered
file is rejected with a clear ``ValueError``.

Each layer, the loss and the optimizer are recorded as ``{"class": key, "config":
obj.get_config()}`` with the key of their registry: ``"Dense"``, ``"Adam"`` for the built-ins,
``"<module>.<QualName>"`` (or the name given to ``scratchnn.register``) for yours.

File layout: ``__config__`` (a JSON string) plus one array per parameter named
``param:<layer>.<name>`` and one per buffer named ``buffer:<layer>.<name>``. With the training
state (``include_optimizer=True``, the default, as in Keras) the config also holds
``optimizer_state`` (the step count and each parameter's integer counters) and ``rng_state``
(the model generator's ``bit_generator.state``), and each optimizer array is stored as
``optimizer:<parameter name>.<key>``, e.g. ``optimizer:dense_0.W.m``.

Format versions: 2 (this one) adds the training state; version-1 files (written before it
existed) load as before, with a fresh optimizer state.

This module imports no model class: ``load_model`` takes ``Sequential`` from
:data:`scratchnn.registry.MODELS`, so that ``scratchnn.model`` can import this module.
"""

from __future__ import annotations

import json
import os
import warnings
import zipfile

import numpy as np

from .registry import LAYERS, LOSSES, METRICS, MODELS, OPTIMIZERS, Registry
from .schedules import Schedule

__all__ = ["save_model", "load_model"]

FORMAT = "scratchnn-model"
VERSION = 2
_READABLE_VERSIONS = (1, 2)
_OPTIMIZER_PREFIX = "optimizer:"
# Bit generators whose state is plain numbers (or arrays, stored as lists); loading only ever
# builds one of these by name.
_BIT_GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")

def _describe(registry: Registry, obj, who: str) -> dict:
    """``registry.serialize(obj)``, checked to be plain JSON; ``TypeError`` naming ``who``."""
    try:
        spec = registry.serialize(obj)
        json.dumps(spec)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"save: {who} cannot be saved: {exc}") from None
    return spec


def _describe_metric(fn) -> str:
    """The registered key of a metric function (what ``compile`` accepts back); ``TypeError``
    for an unregistered one, which ``load_model`` could not find."""
    try:
        return METRICS.key_of(fn)
    except TypeError:
        name = getattr(fn, "__name__", repr(fn))
        raise TypeError(f"save: the metric function {name} cannot be saved: it is not "
                        f"registered, so load_model could not find it again. Register it "
                        f"first: scratchnn.register({name}, kind='metric')") from None


def _layer_entry(layer) -> dict:
    spec = _describe(LAYERS, layer, f"layer {layer.name} ({type(layer).__name__})")
    return {"class": spec["class"], "name": layer.name, "config": spec["config"]}


def _config(model) -> dict:
    config = {
        "format": FORMAT, "version": VERSION, "dtype": model.dtype.name,
        "layers": [_layer_entry(layer) for layer in model.layers],
    }
    if model.loss is not None:
        config["loss"] = _describe(LOSSES, model.loss, f"the loss {type(model.loss).__name__}")
        config["metrics"] = [_describe_metric(fn) for fn in model._metric_fns]
        opt = model.optimizer
        try:
            config["optimizer"] = _describe(OPTIMIZERS, opt, f"the optimizer "
                                                             f"{type(opt).__name__}")
        except TypeError:
            if not (callable(opt.lr) and not isinstance(opt.lr, Schedule)):
                raise
            warnings.warn(f"save: the optimizer {type(opt).__name__} is not saved: its lr "
                          f"{opt.lr!r} is a function, code rather than data (write it as a "
                          f"schedules.Schedule subclass to save it); load_model will compile "
                          f"with a default Adam", stacklevel=3)
    return config


def _json_ready(value):
    """``value`` with arrays turned into lists and NumPy scalars into Python ones."""
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, (np.ndarray, np.generic)):
        return value.tolist()
    return value


def _training_state(model, config: dict) -> dict:
    """Add ``optimizer_state`` and ``rng_state`` to ``config``; return the optimizer arrays
    (``{"optimizer:<param>.<key>": array}``)."""
    config["rng_state"] = _json_ready(model.rng.bit_generator.state)
    if "optimizer" not in config:  # uncompiled, or an optimizer that cannot be described
        return {}
    state = model.optimizer.state_dict()
    arrays, counters = {}, {}
    for name, entry in state["state"].items():
        counters[name] = {}
        for key, value in entry.items():
            if isinstance(value, np.ndarray):
                arrays[f"{_OPTIMIZER_PREFIX}{name}.{key}"] = value
            else:
                counters[name][key] = value
    config["optimizer_state"] = {"iterations": state["iterations"], "params": counters}
    return arrays


def save_model(model, path, include_optimizer: bool = True) -> None:
    """Write ``model`` to ``path`` (the exact path given; ``.npz`` is the usual suffix).

    Stored: the dtype, the layers, the weights, the buffers and, for a compiled model, the loss,
    the metric names and the optimizer's class and hyperparameters (a schedule ``lr`` as its
    description). With ``include_optimizer=True`` (the default, as in Keras' ``model.save``)
    also the training state, so that :func:`load_model` followed by ``fit`` continues exactly
    where training stopped: the optimizer's :meth:`~scratchnn.optimizers.Optimizer.state_dict`
    (step count, hence the position in a schedule, and momenta/moments) and the state of the
    model's generator ``model.rng`` (the next shuffles and dropout masks). With
    ``include_optimizer=False`` the compile settings are still stored but not the training
    state (Keras then leaves out the compile settings too).

    Layers, losses and optimizers of your own are saved like the built-ins, under the key
    their class registered (see :mod:`scratchnn.registry`). The file is written to a
    temporary name first and renamed, so a crash never leaves a half-written model behind.
    Raises ``TypeError`` naming the layer or loss whose description cannot be saved (an
    unregistered class or initializer, a ``get_config`` its constructor cannot take or that
    is not plain JSON; the optimizer too, unless only its ``lr`` is the trouble) and
    ``ValueError`` if two stepped parameters share a name. An optimizer whose ``lr`` is a
    function (not a :class:`~scratchnn.schedules.Schedule`) is left out with a warning;
    ``load_model`` then compiles with a default ``Adam``.
    """
    config = _config(model)
    arrays = _training_state(model, config) if include_optimizer else {}
    arrays["__config__"] = np.array(json.dumps(config))
    for layer in model.layers:
        for p in layer.parameters():
            arrays[f"param:{p.name}"] = p.value
        for key, value in layer.buffers().items():
            arrays[f"buffer:{layer.name}.{key}"] = value
    path = os.fspath(path)
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
    os.replace(tmp, path)


def _fail(path, why: str):
    raise ValueError(f"load_model: {path} is not a valid scratchnn model file: {why}")


def _build(registry: Registry, spec, path):
    """The object ``spec`` describes, from ``registry`` only; ``_fail`` otherwise."""
    try:
        return registry.deserialize(spec)
    except ValueError as exc:
        _fail(path, str(exc))


def load_model(path):
    """Rebuild a model saved by ``Sequential.save`` (or :func:`save_model`).

    A compiled model comes back compiled with the same loss, metrics and optimizer
    hyperparameters; if the file holds the training state (``include_optimizer=True``), the
    optimizer's state and the model generator's state are restored too, so ``fit`` resumes
    training exactly. Version-1 files (no training state) load with a fresh optimizer state
    and a fresh generator.

    Only registered classes are built (see :mod:`scratchnn.registry`): a layer, loss or
    optimizer of your own must be defined or imported before loading; its class registers
    itself then.

    Raises ``FileNotFoundError`` when there is no such file and ``ValueError`` when the file
    is not a scratchnn model, or its config or arrays are malformed or inconsistent, or when
    it names a class that is not registered (the message names the class and says how to
    register it).
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"load_model: no such file {path}")
    try:
        data = np.load(path, allow_pickle=False)
        if isinstance(data, np.lib.npyio.NpzFile):
            with data:
                arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        _fail(path, f"cannot read it as .npz ({exc})")
    if not isinstance(data, np.lib.npyio.NpzFile):  # np.load read a single .npy array
        _fail(path, "cannot read it as .npz (it is a single .npy array, not an archive)")
    not_arrays = sorted(k for k, v in arrays.items() if not isinstance(v, np.ndarray))
    if not_arrays:
        _fail(path, f"the entries {not_arrays} are not .npy arrays")
    if "__config__" not in arrays:
        _fail(path, "the __config__ entry is missing")
    try:
        config = json.loads(str(arrays.pop("__config__")))
    except (json.JSONDecodeError, TypeError) as exc:
        _fail(path, f"the config is not valid JSON ({exc})")
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        _fail(path, "the config does not identify a scratchnn model")
    if config.get("version") not in _READABLE_VERSIONS:
        _fail(path, f"unsupported format version {config.get('version')!r}")
    if config.get("dtype") not in ("float32", "float64"):
        _fail(path, f"unsupported dtype {config.get('dtype')!r}")
    specs = config.get("layers")
    if not isinstance(specs, list) or not specs:
        _fail(path, "the layer list is missing or empty")
    rng = _generator(config.get("rng_state"), path)
    built = []
    for spec in specs:
        layer = _build(LAYERS, spec, path)
        if not isinstance(spec.get("name"), str):
            _fail(path, f"layer entry {spec!r} has no name")
        layer.name = spec["name"]
        built.append(layer)
    try:
        model = MODELS.get("Sequential")(built, seed=rng, dtype=config["dtype"])
    except (TypeError, ValueError) as exc:
        _fail(path, f"the layers do not fit together ({exc})")
    if rng is not None:  # building drew the initial weights from it: put the saved state back
        rng.bit_generator.state = config["rng_state"]
    optimizer_arrays = {k: arrays.pop(k) for k in list(arrays)
                        if k.startswith(_OPTIMIZER_PREFIX)}

    expected = {f"param:{p.name}": p for p in model.parameters()}
    buffers = {f"buffer:{layer.name}.{k}": (layer, k) for layer in model.layers
               for k in layer.buffers()}
    missing = sorted((set(expected) | set(buffers)) - set(arrays))
    extra = sorted(set(arrays) - set(expected) - set(buffers))
    if missing or extra:
        _fail(path, f"arrays do not match the layers (missing {missing}, unexpected {extra})")
    for key, p in expected.items():
        value = arrays[key]
        if value.shape != p.value.shape or value.dtype.kind != "f":
            _fail(path, f"{key} has shape {value.shape} and dtype {value.dtype}, expected "
                        f"shape {p.value.shape} floats")
        if not np.all(np.isfinite(value)):
            _fail(path, f"{key} contains NaN or inf")
        p.value[...] = value  # in place: the model's flat parameter buffer stays whole
    for key, (layer, name) in buffers.items():
        value = arrays[key]
        if value.dtype.kind != "f" or not np.all(np.isfinite(value)):
            _fail(path, f"{key} must be finite floats")
        try:
            layer.set_buffer(name, value)
        except ValueError as exc:
            _fail(path, str(exc))

    if "loss" in config:
        loss = _build(LOSSES, config["loss"], path)
        optimizer = "adam"
        if "optimizer" in config:
            optimizer = _build(OPTIMIZERS, config["optimizer"], path)
        metrics = config.get("metrics", [])
        if not isinstance(metrics, list) or not all(isinstance(m, str) for m in metrics):
            _fail(path, f"bad metrics list {metrics!r}")
        try:
            model.compile(loss=loss, optimizer=optimizer, metrics=metrics)
        except ValueError as exc:
            _fail(path, str(exc))
    if "optimizer_state" in config or optimizer_arrays:
        _load_optimizer_state(model, config, optimizer_arrays, path)
    return model


def _generator(spec, path) -> np.random.Generator | None:
    """The generator described by a saved ``rng_state`` (None when there is none)."""
    if spec is None:
        return None
    if not isinstance(spec, dict) or spec.get("bit_generator") not in _BIT_GENERATORS:
        _fail(path, f"bad rng_state {spec!r} (expected the bit_generator.state of one of "
                    f"{list(_BIT_GENERATORS)})")
    bit_generator = getattr(np.random, spec["bit_generator"])()
    try:
        bit_generator.state = spec  # NumPy checks every field
    except (TypeError, ValueError, KeyError, OverflowError) as exc:
        _fail(path, f"bad rng_state {spec!r} ({exc})")
    return np.random.Generator(bit_generator)


def _load_optimizer_state(model, config: dict, optimizer_arrays: dict, path) -> None:
    """Give ``model.optimizer`` the saved state (``optimizer_state`` plus its arrays)."""
    spec = config.get("optimizer_state")
    if "optimizer" not in config or model.optimizer is None:
        _fail(path, "the file has an optimizer_state (or optimizer arrays) without an "
                    "optimizer entry")
    if not isinstance(spec, dict) or sorted(spec) != ["iterations", "params"] \
            or not isinstance(spec["params"], dict) \
            or not all(isinstance(entry, dict) for entry in spec["params"].values()):
        _fail(path, f"malformed optimizer_state {spec!r} (expected {{'iterations': int, "
                    f"'params': {{name: {{key: int}}}}}})")
    entries = {name: dict(entry) for name, entry in spec["params"].items()}
    for key, value in optimizer_arrays.items():
        name, _, state_key = key[len(_OPTIMIZER_PREFIX):].rpartition(".")
        if name not in entries:
            _fail(path, f"the array {key} belongs to no parameter: optimizer_state has no "
                        f"entry for {name!r}")
        if value.dtype.kind == "f" and not np.all(np.isfinite(value)):
            _fail(path, f"{key} contains NaN or inf")
        entries[name][state_key] = value
    try:
        model.optimizer.load_state_dict({"iterations": spec["iterations"], "state": entries},
                                        model.parameters())
    except ValueError as exc:
        _fail(path, str(exc))

