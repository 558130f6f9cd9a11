r"""RecBole 1.2.1's multi-process training (``recbole.quick_start.run(..., nproc=N)``, torch DDP)
on CPU and GPU, and the device choice that one-process runs make.

Applied by :mod:`recbole_darec.compat` on ``import recbole_darec``.

* **The ranks import us.** ``run`` spawns its ranks into fresh interpreters, where RecBole's
  ``Config`` fails under numpy 2 before it ever looks a model up (so before
  ``recbole_darec_autoload`` could import us). The ranks now start in :func:`run_rank`, which
  imports ``recbole_darec`` (and with it these fixes) and then runs RecBole's own
  ``run_recboles``.

* **Device and backend.** RecBole's ``Config._init_device`` starts every multi-process run with
  NCCL on ``cuda:<rank>``, so it could not run on CPU, and it picks a one-process run's device from
  ``gpu_id`` alone, so ``use_gpu: False`` (a Ray trial given no GPU) still landed on GPU 0. Now:
  CUDA only when ``use_gpu`` is true, ``gpu_id`` names a device and CUDA is there; else the CPU.
  Several processes use NCCL on CUDA and gloo on the CPU.
* **DDP on the CPU.** ``DistributedDataParallel`` takes ``device_ids=None`` there, and RecBole's
  ``SyncBatchNorm`` conversion (CUDA only) is made only on CUDA.
* **No broadcast of constant buffers.** DDP sends every buffer from rank 0 to the others on every
  forward (RecBole calls it once per step), the language-vector table included. Every buffer our
  models register is non-persistent: it is not saved, because it is rebuilt from the data at
  construction and never changes (a test checks this). Non-persistent buffers are left out of
  DDP's synchronisation.
* **One checkpoint name.** Each rank named its checkpoint from its own clock (one-second steps),
  so the ranks could disagree and the others tested a file that was never written. Rank 0's name
  is sent to all.
* **Only rank 0 writes**, as RecBole already does for checkpoints, and for
  :mod:`recbole_darec.resume`'s state too; before any rank reads the best checkpoint to test it,
  all ranks wait until rank 0 has written it.
* **Reloading.** A checkpoint of a multi-process run holds that run's ``Config`` (its rank and
  device); unpickled in a process with no process group, it becomes a one-process ``Config``, so
  ``load_data_and_model`` reloads it.

What each rank computes (docs/distributed.md): RecBole gives each of N ranks 1/N of every batch;
DDP averages the gradients. Only losses that are means over a batch's rows (BPR; the L2 with
``require_pow: True``) then give the gradient of one process on the whole batch. Whatever a rank
draws (DaRec's N_hat rows and k-means, Gen's masked rows, SGL's and SimGCL's views) gives the mean
of N independent estimates; in-batch InfoNCE (Con's, the point-wise term's, SGL's and SimGCL's)
sees 1/N of the negatives; RecBole's default L2 (norms, not squared) weighs about sqrt(N) times
more.
"""

import functools
import os

import torch

_PATCHED = False
_RECBOLE_RUN_RECBOLES = None  # RecBole's own rank function, which run_rank calls


def wants_cuda(config_dict):
    r"""Whether a run with these settings should run on CUDA: ``use_gpu`` true, ``gpu_id`` naming a
    device, and CUDA present. Call it after ``CUDA_VISIBLE_DEVICES`` is set: asking torch about
    CUDA starts the driver, which reads that variable once."""
    use_gpu = config_dict.get("use_gpu", True)
    return bool(use_gpu) and len(str(config_dict["gpu_id"])) > 0 and torch.cuda.is_available()


# RecBole keys that make every rank write one file at once.
ONE_PROCESS_KEYS = ("save_dataset", "save_dataloaders")


def init_device(self):
    r"""``Config._init_device``, honouring ``use_gpu`` and choosing gloo or NCCL by the device."""
    cfg = self.final_config_dict
    if isinstance(cfg["gpu_id"], tuple):
        cfg["gpu_id"] = ",".join(map(str, cfg["gpu_id"]))
    else:
        cfg["gpu_id"] = str(cfg["gpu_id"])
    gpu_id = cfg["gpu_id"]
    if cfg.get("use_gpu", True):
        # RecBole's own behaviour, before torch is asked about CUDA: the visible devices are
        # gpu_id's ('' hides them all). With use_gpu False they are left alone (a Ray worker keeps
        # the devices Ray gave it).
        os.environ["CUDA_VISIBLE_DEVICES"] = gpu_id
    cuda = wants_cuda(cfg)
    # RecBole's later checks (GPU memory in its logs and progress bars) read use_gpu: make it say
    # what the device is.
    cfg["use_gpu"] = cuda
    if "local_rank" not in cfg:
        cfg["single_spec"] = True
        cfg["local_rank"] = 0
        cfg["device"] = torch.device("cuda") if cuda else torch.device("cpu")
        return
    for key in ONE_PROCESS_KEYS:
        if cfg.get(key):
            raise ValueError(f"config key {key}: every rank would write the same file at once; set it to False "
                             f"when nproc > 1 (save the data from a one-process run)")
    if cuda and len(gpu_id.split(",")) < cfg["nproc"]:
        raise ValueError(f"config key gpu_id: {gpu_id!r} names {len(gpu_id.split(','))} GPU(s), but nproc is "
                         f"{cfg['nproc']}: one GPU a process (or use_gpu: False to train on the CPU)")
    rank = cfg["local_rank"] + cfg["offset"]
    torch.distributed.init_process_group(
        backend="nccl" if cuda else "gloo", rank=rank, world_size=cfg["world_size"],
        init_method=f"tcp://{cfg['ip']}:{cfg['port']}",
    )
    cfg["device"] = torch.device("cuda", cfg["local_rank"]) if cuda else torch.device("cpu")
    cfg["single_spec"] = False
    if cuda:
        torch.cuda.set_device(cfg["local_rank"])
    if cfg["local_rank"] != 0:
        cfg["state"] = "error"
        cfg["show_progress"] = False
        cfg["verbose"] = False


def constant_buffer_names(model):
    r"""The fully qualified names of ``model``'s non-persistent buffers (see the module docstring)."""
    names = []
    for prefix, module in model.named_modules():
        for name in module._non_persistent_buffers_set:
            if module._buffers.get(name) is not None:
                names.append(f"{prefix}.{name}" if prefix else name)
    return names


def is_distributed(config):
    return not config["single_spec"]


def abstract_trainer_init(self, config, model):
    r"""RecBole's ``AbstractTrainer.__init__``, with DDP set up for the CPU as for CUDA."""
    from torch.nn.parallel import DistributedDataParallel

    self.config = config
    self.model = model
    if is_distributed(config):
        on_cuda = config["device"].type == "cuda"
        if on_cuda:
            self.model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
        DistributedDataParallel._set_params_and_buffers_to_ignore_for_model(
            self.model, constant_buffer_names(self.model))
        self.distributed_model = DistributedDataParallel(
            self.model, device_ids=[config["local_rank"]] if on_cuda else None)


def rank0_checkpoint_name(init):
    if getattr(init, "_recbole_darec_rank0_name", False):
        return init

    @functools.wraps(init)
    def wrapper(self, config, model, *args, **kwargs):
        init(self, config, model, *args, **kwargs)
        if is_distributed(config):
            names = [self.saved_model_file]
            torch.distributed.broadcast_object_list(names, src=0)
            self.saved_model_file = names[0]

    wrapper._recbole_darec_rank0_name = True
    return wrapper


def waits_for_rank0_checkpoint(evaluate):
    if getattr(evaluate, "_recbole_darec_waits", False):
        return evaluate

    @functools.wraps(evaluate)
    def wrapper(self, eval_data, load_best_model=True, *args, **kwargs):
        if load_best_model and eval_data and is_distributed(self.config):
            torch.distributed.barrier()
        return evaluate(self, eval_data, load_best_model, *args, **kwargs)

    wrapper._recbole_darec_waits = True
    return wrapper


def as_single_process(config):
    r"""A multi-process run's unpickled ``Config``, outside any process group: one process, on the
    CPU unless the run was on CUDA and CUDA is here."""
    if config.final_config_dict.get("single_spec", True):
        return
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return
    cfg = config.final_config_dict
    was_cuda = getattr(cfg.get("device"), "type", "cpu") == "cuda"
    cfg["single_spec"] = True
    cfg["local_rank"] = 0
    cfg["device"] = torch.device("cuda") if was_cuda and torch.cuda.is_available() else torch.device("cpu")


def run_rank(rank, *args):
    r"""A rank of ``recbole.quick_start.run``: RecBole's ``run_recboles`` after ``import recbole_darec``."""
    import recbole_darec  # noqa: F401  (applies these fixes in this fresh interpreter)

    _RECBOLE_RUN_RECBOLES(rank, *args)


def apply():
    global _PATCHED, _RECBOLE_RUN_RECBOLES
    if _PATCHED:
        return
    from recbole.config import Config
    from recbole.trainer import trainer as trainer_module

    import recbole.quick_start.quick_start as quick_start

    # run() looks its spawn target up by this global name when it is called.
    if quick_start.run_recboles is not run_rank:
        _RECBOLE_RUN_RECBOLES = quick_start.run_recboles
    quick_start.run_recboles = run_rank
    Config._init_device = init_device
    trainer_module.AbstractTrainer.__init__ = abstract_trainer_init
    trainer_module.Trainer.__init__ = rank0_checkpoint_name(trainer_module.Trainer.__init__)
    trainer_module.Trainer.evaluate = waits_for_rank0_checkpoint(trainer_module.Trainer.evaluate)
    _PATCHED = True
