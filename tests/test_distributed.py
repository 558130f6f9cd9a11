"""RecBole's multi-process training (torch DDP) on the CPU: recbole_darec.distributed."""

import glob
import json
import os
import socket
import subprocess
import sys

import pytest
import torch
from recbole.quick_start import load_data_and_model

from conftest import tiny_config
from helpers import build
from recbole_darec import distributed
from recbole_darec.resume import read_resume_state

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# From `python -c`, whose ranks do not re-import a main module: each rank must import
# recbole_darec (its models and the fixes that let it run on the CPU) on its own.
RUN = """
import json, sys
import recbole_darec, recbole.quick_start
spec = json.loads(sys.argv[1])
result = recbole.quick_start.run(spec["model"], "tiny", config_dict=spec["config"], nproc=spec["nproc"],
                                 port=str(spec["port"]))
print("RESULT " + json.dumps({key: dict(value) if isinstance(value, dict) else value
                              for key, value in result.items()}))
"""
# This working tree's package, in the parent and (inherited) in the ranks.
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": ROOT}


def free_port():
    with socket.socket() as probe:
        probe.bind(("localhost", 0))
        return probe.getsockname()[1]


# Imported at start-up by the parent and by each rank: each process names its checkpoints from
# its own pid instead of the clock, so ranks that did not agree on rank 0's name would write and
# read different files.
NAMES_OF_ONE_PROCESS = """
import os
import recbole.trainer.trainer as trainer
trainer.get_local_time = lambda: f"pid{os.getpid()}"
"""


def run_nproc(root, model, nproc=2, hooks=None, **overrides):
    config = tiny_config(root, **{"use_gpu": False, "epochs": 2, **overrides})
    spec = {"model": model, "config": config, "nproc": nproc, "port": free_port()}
    env = ENV
    if hooks is not None:
        folder = os.path.join(str(root), "hooks")
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "sitecustomize.py"), "w") as f:
            f.write(hooks)
        env = {**ENV, "PYTHONPATH": f"{folder}{os.pathsep}{ROOT}"}
    finished = subprocess.run([sys.executable, "-c", RUN, json.dumps(spec)], cwd=root, env=env,
                              capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr[-3000:]
    (line,) = [line for line in finished.stdout.splitlines() if line.startswith("RESULT ")]
    return config, json.loads(line[len("RESULT "):])


@pytest.mark.parametrize("model", ["DaRecLightGCN", "LightGCNCon"])
def test_two_cpu_processes_train_write_one_checkpoint_and_it_reloads(tiny, model):
    config, result = run_nproc(tiny, model, hooks=NAMES_OF_ONE_PROCESS)
    checkpoints = glob.glob(os.path.join(config["checkpoint_dir"], "*.pth"))
    assert len(checkpoints) == 1, checkpoints  # written by rank 0 only
    # Every rank tested the best checkpoint: a rank with a name of its own would have failed to read it.
    reloaded, model_object, _, _, _, test_data = load_data_and_model(checkpoints[0])
    assert reloaded["single_spec"] and reloaded["device"].type == "cpu"
    assert type(model_object).__name__ == model
    from recbole.utils import get_trainer

    trainer = get_trainer(reloaded["MODEL_TYPE"], reloaded["model"])(reloaded, model_object)
    metrics = trainer.evaluate(test_data, load_best_model=False)
    # The 40 test users split 20 / 20 (no padding), so the ranks' merged score is the one-process
    # score up to RecBole's rounding.
    for key, value in result["test_result"].items():
        assert metrics[key] == pytest.approx(value, abs=2e-4), key


# Imported at start-up by the parent and by each rank: keeps a copy of every resume state rank 0
# writes (the run deletes its own when it ends).
KEEP_RESUME_STATES = """
import os, shutil
import recbole_darec.resume as resume
write = resume.write_resume_state
def write_and_keep(trainer, path, *args, **kwargs):
    write(trainer, path, *args, **kwargs)
    if os.path.exists(path):
        shutil.copy(path, os.environ["KEEP_RESUME_STATE"])
resume.write_resume_state = write_and_keep
"""


# Imported at start-up by the parent and by each rank: rank 0 is slow to write its checkpoint.
SLOW_CHECKPOINT_WRITES = """
import time
import recbole.trainer.trainer as trainer
save = trainer.Trainer._save_checkpoint
def slow_save(self, *args, **kwargs):
    if self.config["local_rank"] == 0:
        time.sleep(3)
    return save(self, *args, **kwargs)
trainer.Trainer._save_checkpoint = slow_save
"""


def test_no_rank_tests_the_best_checkpoint_before_rank_0_has_written_it(tiny):
    # One epoch: rank 0 writes its only checkpoint after the last validation, while rank 1 goes
    # straight on to the test, which reads that file.
    config, result = run_nproc(tiny, "LightGCN", hooks=SLOW_CHECKPOINT_WRITES, epochs=1)
    assert result["test_result"]


def test_a_resume_state_of_two_processes_holds_each_ranks_generators_and_refuses_one(tiny):
    hooks = tiny / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(KEEP_RESUME_STATES)
    kept = str(tiny / "kept.resume")
    config = tiny_config(tiny, use_gpu=False, epochs=1, resume_file=str(tiny / "run.resume"))
    spec = {"model": "DaRecLightGCN", "config": config, "nproc": 2, "port": free_port()}
    env = {**ENV, "PYTHONPATH": f"{hooks}{os.pathsep}{ROOT}", "KEEP_RESUME_STATE": kept}
    finished = subprocess.run([sys.executable, "-c", RUN, json.dumps(spec)], cwd=tiny, env=env,
                              capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr[-3000:]
    state = read_resume_state(kept)
    assert state["world_size"] == 2 and len(state["random"]) == 2
    # Rank r seeded its generators with seed + r: the two states differ.
    assert not torch.equal(state["random"][0]["torch"], state["random"][1]["torch"])
    one_process = build(tiny)[0]
    with pytest.raises(ValueError, match="2 process.*this run has 1"):
        read_resume_state(kept, one_process)


def test_a_one_process_run_with_use_gpu_false_stays_on_the_cpu(tiny, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    config = build(tiny, use_gpu=False, gpu_id="0")[0]
    assert config["device"].type == "cpu"


def test_gpu_id_is_made_visible_before_torch_is_asked_about_cuda(tiny, monkeypatch):
    # Asking torch starts the CUDA driver, which reads CUDA_VISIBLE_DEVICES once.
    seen = []
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "unset")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: seen.append(os.environ["CUDA_VISIBLE_DEVICES"]) or False)
    config = build(tiny, use_gpu=True, gpu_id="1")[0]
    assert seen and set(seen) == {"1"}
    assert config["device"].type == "cpu" and config["use_gpu"] is False  # no CUDA: RecBole's GPU logging stays off


def test_saving_the_data_is_refused_under_several_processes(tiny):
    config = tiny_config(tiny, use_gpu=False, save_dataset=True, world_size=2, nproc=2, ip="localhost",
                         port="1", offset=0, local_rank=0)
    from recbole.config import Config

    with pytest.raises(ValueError, match="config key save_dataset"):
        Config(model="LightGCN", dataset="tiny", config_dict=config)


def test_cuda_is_chosen_only_with_use_gpu_a_gpu_id_and_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert distributed.wants_cuda({"use_gpu": True, "gpu_id": "0"})
    assert not distributed.wants_cuda({"use_gpu": False, "gpu_id": "0"})
    assert not distributed.wants_cuda({"use_gpu": True, "gpu_id": ""})
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert not distributed.wants_cuda({"use_gpu": True, "gpu_id": "0"})


@pytest.mark.parametrize("model", ["DaRecLightGCN", "LightGCNCon", "LightGCNGen", "AlphaRec"])
def test_the_buffers_left_out_of_ddp_never_change_in_training(tiny, model):
    _, _, (train, _, _), net = build(tiny, model=model)
    names = distributed.constant_buffer_names(net)
    assert names, "every model of ours registers its language vectors or row lists as buffers"
    dense = lambda tensor: tensor.to_dense() if tensor.is_sparse else tensor  # noqa: E731
    before = {name: dense(buffer).clone() for name, buffer in net.named_buffers() if name in names}
    optimizer = torch.optim.Adam(net.parameters(), lr=0.1)
    for batch in train:
        optimizer.zero_grad()
        losses = net.calculate_loss(batch)
        (sum(losses) if isinstance(losses, tuple) else losses).backward()
        optimizer.step()
    after = dict(net.named_buffers())
    assert all(torch.equal(before[name], dense(after[name])) for name in names)
    assert not set(names) & set(net.state_dict()), "a constant buffer must not be saved"


def test_the_language_vectors_are_among_the_constant_buffers(tiny):
    _, _, _, net = build(tiny, model="AlphaRec")
    assert "llm_vectors" in distributed.constant_buffer_names(net)


def test_an_unpickled_multi_process_config_becomes_one_process_outside_a_process_group(tiny):
    config = build(tiny)[0]
    config.final_config_dict.update(single_spec=False, local_rank=1, device=torch.device("cpu"))
    distributed.as_single_process(config)
    assert config["single_spec"] and config["local_rank"] == 0 and config["device"].type == "cpu"


def gradient_rank(rank, spec):  # noqa: C901
    r"""One rank of the gradient test: one RecBole training step on this rank's share of the first
    batch, as RecBole's trainer makes it under DDP; saves the averaged gradients and the share."""
    import recbole_darec  # noqa: F401
    from recbole.utils import get_trainer

    sys.argv = sys.argv[:1]  # RecBole's Config reads the command line

    overrides = {"world_size": 2, "nproc": 2, "ip": "localhost", "port": str(spec["port"]), "offset": 0,
                 "local_rank": rank}
    config, _, (train, _, _), model = build(spec["root"], model=spec["model"], **spec["keys"], **overrides)
    trainer = get_trainer(config["MODEL_TYPE"], config["model"])(config, model)
    batch = next(iter(train))
    trainer.optimizer.zero_grad()
    trainer.set_reduce_hook()
    losses = model.calculate_loss(batch)
    loss = sum(losses) if isinstance(losses, tuple) else losses
    (loss + trainer.sync_grad_loss()).backward()
    share = {field: batch[field].clone() for field in batch.interaction}
    grads = {name: parameter.grad.clone() for name, parameter in model.named_parameters()
             if parameter.grad is not None}
    torch.save((share, grads), f"{spec['out']}.{rank}")
    torch.distributed.destroy_process_group()


GRADIENTS = """
import json, sys, torch
import recbole_darec
import torch.multiprocessing as mp
from test_distributed import gradient_rank
spec = json.loads(sys.argv[1])
mp.spawn(gradient_rank, args=(spec,), nprocs=2, join=True)
"""


@pytest.mark.parametrize("require_pow, same", [(True, True), (False, False)])
def test_two_ranks_average_to_the_gradient_of_one_process_only_for_means_over_rows(tiny, require_pow, same):
    # BPR, and the L2 of squared norms, are means over the batch's rows: DDP's average of the two
    # halves' gradients is the gradient on the whole batch. RecBole's default L2 sums norms (not
    # squared), which do not add up over halves (docs/distributed.md). A large reg_weight makes
    # the L2's share of the gradient visible.
    from recbole.data.interaction import Interaction

    keys = {"reg_weight": 1.0, "require_pow": require_pow}
    spec = {"root": str(tiny), "model": "LightGCN", "port": free_port(), "out": str(tiny / "rank.pt"), "keys": keys}
    env = {**ENV, "PYTHONPATH": f"{os.path.join(ROOT, 'tests')}{os.pathsep}{ROOT}"}
    finished = subprocess.run([sys.executable, "-c", GRADIENTS, json.dumps(spec)], cwd=tiny, env=env,
                              capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr[-3000:]
    share0, grads0 = torch.load(spec["out"] + ".0", weights_only=False)
    share1, grads1 = torch.load(spec["out"] + ".1", weights_only=False)
    assert len(share0["user_id"]) == len(share1["user_id"])  # equal halves, no padding
    for name in grads0:
        assert torch.allclose(grads0[name], grads1[name]), f"DDP left the ranks' {name} gradients apart"
    _, _, _, model = build(tiny, model="LightGCN", **keys)
    whole = Interaction({field: torch.cat([share0[field], share1[field]]) for field in share0})
    model.calculate_loss(whole).backward()
    agree = all(torch.allclose(parameter.grad, grads0[name], rtol=1e-4, atol=1e-7)
                for name, parameter in model.named_parameters())
    assert agree == same
