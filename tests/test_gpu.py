"""On a CUDA machine (run_scripts/gpu_check.sh): every model trains an epoch on the GPU and reloads there;
with two GPUs, two processes train with NCCL. Skipped where torch sees no CUDA device, as on the CPU
machines CI runs on."""

import glob
import math
import os

import pytest
import torch
from recbole.quick_start import load_data_and_model, run_recbole

from conftest import tiny_config
from recbole_darec import MODEL_MODULES

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (run_scripts/gpu_check.sh)")


@pytest.mark.parametrize("name", sorted(MODEL_MODULES))
def test_every_model_trains_an_epoch_on_cuda_and_reloads_there(tiny, name):
    config = tiny_config(tiny, use_gpu=True, gpu_id="0")
    result = run_recbole(model=name, dataset="tiny", config_dict=config)
    assert all(math.isfinite(value) for value in result["test_result"].values())
    (checkpoint,) = glob.glob(os.path.join(config["checkpoint_dir"], f"{name}-*.pth"))
    _, model, _, _, _, _ = load_data_and_model(checkpoint)
    assert all(parameter.is_cuda for parameter in model.parameters())


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs two CUDA devices")
def test_two_gpu_processes_train_with_nccl_write_one_checkpoint_and_it_reloads(tiny):
    from test_distributed import run_nproc

    config, result = run_nproc(tiny, "DaRecLightGCN", use_gpu=True, gpu_id="0,1")
    assert all(math.isfinite(value) for value in result["test_result"].values())
    (checkpoint,) = glob.glob(os.path.join(config["checkpoint_dir"], "*.pth"))
    reloaded, model, _, _, _, _ = load_data_and_model(checkpoint)
    assert reloaded["single_spec"] and all(parameter.is_cuda for parameter in model.parameters())
