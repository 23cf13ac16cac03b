"""``hubscape activations``: real runs and bad input (one line, exit 2, no bundle)."""

from __future__ import annotations

import numpy as np
import pytest

from hubscape.analytics.activations.result import ActivationResult
from hubscape.core.bundle import read_bundle
from hubscape.viewer.cli import main

TRIGGER = "size=3,corner=br,pattern=checker,value=1,target=0"


def run_cli(capsys, *argv):
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def assert_one_line_error(rc, err, text, out_path):
    assert rc == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hubscape: error: "), err
    assert text in lines[0]
    assert not out_path.exists()
    assert not list(out_path.parent.glob(f".{out_path.name}.*"))  # no temp file left behind


def test_checkpoint_with_trigger_and_pruning(tiny_backdoor, tmp_path, capsys):
    out = tmp_path / "acts.safetensors"
    rc, stdout, _ = run_cli(
        capsys,
        "activations",
        tiny_backdoor.checkpoint,
        "--inputs",
        tiny_backdoor.inputs,
        "--trigger",
        TRIGGER,
        "--prune",
        "linf",
        "--prune",
        "mean",
        "--gradcam",
        "3",
        "--out",
        out,
    )
    assert rc == 0
    assert f"wrote {out}" in stdout and "attack success rate" in stdout
    result = ActivationResult.load(out)
    assert [c.method for c in result.pruning] == ["linf", "mean"]
    assert result.gradcam["triggered"].maps.shape == (3, 16, 16)
    from hubscape.analytics.activations.pruning import accuracy

    assert result.metrics["clean_accuracy"] == pytest.approx(
        accuracy(tiny_backdoor.model, tiny_backdoor.x, tiny_backdoor.y)
    )


def test_layers_option_selects_by_pattern(tiny_backdoor, tmp_path, capsys):
    out = tmp_path / "acts.safetensors"
    rc, _, _ = run_cli(
        capsys,
        "activations",
        tiny_backdoor.checkpoint,
        "--inputs",
        tiny_backdoor.inputs,
        "--layers",
        "conv*",
        "--gradcam",
        "0",
        "--out",
        out,
    )
    assert rc == 0
    bundle = read_bundle(out, kind="activations")
    assert [li["name"] for li in bundle.meta["layers"]] == ["conv1", "conv2"]
    assert bundle.meta["conditions"] == ["clean"] and bundle.meta["trigger"] is None


@pytest.fixture
def bad_files(tmp_path, tiny_backdoor):
    import torch

    from hubscape.analytics.activations.digits import load_checkpoint, save_checkpoint

    model, payload = load_checkpoint(tiny_backdoor.checkpoint)
    with torch.no_grad():
        model.conv1.weight.fill_(float("nan"))
    files = {"nan_ckpt": save_checkpoint(tmp_path / "nan.pt", model, payload["config"])}
    torch.save({"weights": torch.zeros(3)}, tmp_path / "foreign.pt")
    files["foreign"] = tmp_path / "foreign.pt"
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint at all")
    files["junk"] = tmp_path / "junk.pt"
    np.savez(tmp_path / "no_y.npz", X=np.zeros((3, 1, 16, 16)))
    files["no_y"] = tmp_path / "no_y.npz"
    np.savez(tmp_path / "wrong_size.npz", X=np.zeros((3, 1, 8, 8)), y=np.zeros(3, int))
    files["wrong_size"] = tmp_path / "wrong_size.npz"
    (tmp_path / "sentences.txt").write_text("a sentence\n", encoding="utf-8")
    files["text"] = tmp_path / "sentences.txt"
    (tmp_path / "binary.txt").write_bytes(b"\xff\xfe\x00\x81 not utf-8")
    files["binary"] = tmp_path / "binary.txt"
    (tmp_path / "empty.txt").write_text("\n \n", encoding="utf-8")
    files["empty"] = tmp_path / "empty.txt"
    return files


@pytest.mark.parametrize(
    "case, text",
    [
        ("unknown_model", "no such model"),
        ("foreign", "is not a hubscape checkpoint"),
        ("junk", "is not a readable torch checkpoint"),
        ("missing_inputs", "no such inputs file"),
        ("text_inputs", "is not an .npz archive"),
        ("no_y", "must hold arrays X and y"),
        ("wrong_size", "the model expects (1, 16, 16)"),
        ("unknown_layer", "no layer matches 'conv9'; available layers include conv2, conv1, relu1"),
        ("nan", "produced NaN or inf activations"),
        ("bad_trigger", "bad trigger spec"),
        ("prune_without_trigger", "pruning curves need a trigger"),
    ],
)
def test_bad_input_on_checkpoints(case, text, tiny_backdoor, bad_files, tmp_path, capsys):
    out = tmp_path / "out" / "acts.safetensors"
    model, inputs, extra = tiny_backdoor.checkpoint, tiny_backdoor.inputs, []
    if case == "unknown_model":
        model = tmp_path / "nowhere.pt"
    elif case in ("foreign", "junk"):
        model = bad_files[case]
    elif case == "missing_inputs":
        inputs = tmp_path / "missing.npz"
    elif case == "text_inputs":
        inputs = bad_files["text"]
    elif case in ("no_y", "wrong_size"):
        inputs = bad_files[case]
    elif case == "unknown_layer":
        extra = ["--layers", "conv9"]
    elif case == "nan":
        model = bad_files["nan_ckpt"]
    elif case == "bad_trigger":
        extra = ["--trigger", "size=3,where=br"]
    elif case == "prune_without_trigger":
        extra = ["--prune", "linf"]
    rc, _, err = run_cli(capsys, "activations", model, "--inputs", inputs, *extra, "--out", out)
    assert_one_line_error(rc, err, text, out)


@pytest.mark.parametrize(
    "case, text",
    [
        ("missing", "no such inputs file"),
        ("binary", "is not UTF-8 text"),
        ("empty", "holds no sentences"),
        ("layer", "no layer matches 'encoder.layer.7'; available layers include encoder.layer.5"),
        ("prune", "--prune works on image classifiers"),
        ("not_hf", "is not a Hugging Face model folder"),
    ],
)
def test_bad_input_on_text_models(case, text, bad_files, tmp_path, capsys):
    out = tmp_path / "acts.safetensors"
    model, inputs, extra = "minilm", bad_files["text"], []
    if case == "missing":
        inputs = tmp_path / "missing.txt"
    elif case in ("binary", "empty"):
        inputs = bad_files[case]
    elif case == "layer":
        extra = ["--layers", "encoder.layer.7"]
    elif case == "prune":
        extra = ["--prune", "linf"]
    elif case == "not_hf":
        model = tmp_path
    rc, _, err = run_cli(capsys, "activations", model, "--inputs", inputs, *extra, "--out", out)
    assert_one_line_error(rc, err, text, out)


def test_minilm_norms_equal_hidden_states_of_each_sentence(tmp_path, capsys):
    """The bundle's per-sentence norms against HF's own hidden states, one sentence at a time."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    from hubscape.analytics.hf import minilm_path

    sentences = ["The cat sat on the mat.", "Markets fell sharply after the announcement today.", "Hi!"]
    (tmp_path / "s.txt").write_text("\n".join(sentences) + "\n", encoding="utf-8")
    out = tmp_path / "minilm.safetensors"
    rc, stdout, _ = run_cli(
        capsys, "activations", "minilm", "--inputs", tmp_path / "s.txt", "--trigger", "cf", "--out", out
    )
    assert rc == 0 and "encoder.layer.5: mean l_inf" in stdout
    result = ActivationResult.load(out)
    assert result.layer_names == ["embeddings"] + [f"encoder.layer.{i}" for i in range(6)]
    assert result.conditions == ["clean", "triggered"]
    tok = AutoTokenizer.from_pretrained(str(minilm_path()))
    model = AutoModel.from_pretrained(str(minilm_path())).eval()
    for cond, texts in (("clean", sentences), ("triggered", [f"cf {s}" for s in sentences])):
        for i, text in enumerate(texts):
            with torch.no_grad():
                hidden = model(**tok([text], return_tensors="pt"), output_hidden_states=True).hidden_states
            for li, name in enumerate(result.layer_names):
                h = np.abs(hidden[li][0].numpy().astype(np.float64))
                stats = result.layers[cond][name]
                assert stats.kind == "transformer" and stats.shape[1] == 384
                np.testing.assert_allclose(stats.samples["linf"][i], h.max(0), rtol=1e-4, atol=1e-5)
                np.testing.assert_allclose(stats.samples["l2"][i], np.sqrt((h**2).sum(0)), rtol=1e-4, atol=1e-5)


def test_demo_minilm_writes_its_sentences_bundle_and_summary(tmp_path, capsys):
    out = tmp_path / "minilm"
    rc, stdout, _ = run_cli(capsys, "demo", "minilm", "--out", out, "--trigger", "cf")
    assert rc == 0 and f"wrote 3 files to {out}/" in stdout
    sentences = (out / "sentences.txt").read_text(encoding="utf-8").splitlines()
    result = ActivationResult.load(out / "activations_minilm.safetensors")
    assert len(sentences) == 16 and result.metrics["n_sentences"] == 16
    assert result.metrics["trigger_tokens"] == ["cf"]
    last = result.layers["triggered"]["encoder.layer.5"]
    assert last.samples["linf"].shape == (16, 384) and last.mean_map.shape[1] == 384
    # every triggered sentence is one token longer, so the triggered mean map has one more row
    assert last.mean_map.shape[0] == result.layers["clean"]["encoder.layer.5"].mean_map.shape[0] + 1
