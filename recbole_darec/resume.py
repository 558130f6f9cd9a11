r"""Resumable training: a run that is interrupted continues where it stopped, bit for bit.

RecBole saves a checkpoint only when validation improves, and that file lacks what a continuation
needs (the random generators, the best epoch's metrics). A Yelp run of SimGCL with RLMRec's loss
takes 2-3 hours on one core; a machine that is reclaimed after one would otherwise lose it all.

With the config key ``resume_file`` set (a path; unset by default, which leaves RecBole's
``Trainer.fit`` exactly as it is), every RecBole trainer, RecBole's own models' included:

* after each validation writes the whole run state to ``resume_file`` (temp file, then rename):
  model and optimizer, epoch, early-stopping counter, best score and metrics, the path of the
  best checkpoint, the model's other parameters (RecBole's ``other_parameter``), and the states
  of torch's, numpy's and Python's random generators and of the training loader's shuffle
  generator;
* when ``resume_file`` exists at the start of ``fit``, continues from it: the continued run
  makes the same batches, negatives and noise as an uninterrupted one, so its weights and
  metrics are identical (tests/test_resume.py checks LightGCN, SGL, SimGCL and DaRecLightGCN);
* deletes ``resume_file`` when ``fit`` returns, so the next run with the same key starts fresh.

Under RecBole's multi-process training (``nproc`` > 1) the ranks hold one model and optimizer
(DDP keeps them equal) but their own random generators: rank 0 writes one file holding every
rank's generators, each rank continues from its own, and a state written by another number of
processes is refused.

The best model stays where RecBole's ``checkpoint_dir`` put it; a resumed run tests that file,
so ``checkpoint_dir`` must survive the interruption (RecBole's default ``saved/`` does).
"""

import functools
import os
import random
import time

import numpy as np
import torch

RESUME_FORMAT = "recbole-darec-resume/1"


def _random_states(train_data):
    states = {
        "torch": torch.get_rng_state(),
        "numpy": np.random.get_state(),
        "python": random.getstate(),
        "loader": train_data.generator.get_state() if hasattr(train_data, "generator") else None,
    }
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def _world(config):
    r"""(rank, number of processes) of this run: (0, 1) for one process."""
    if config["single_spec"]:
        return 0, 1
    return torch.distributed.get_rank(), torch.distributed.get_world_size()


def _restore_random_states(states, train_data):
    torch.set_rng_state(states["torch"])
    np.random.set_state(states["numpy"])
    random.setstate(states["python"])
    if states["loader"] is not None and hasattr(train_data, "generator"):
        train_data.generator.set_state(states["loader"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def read_resume_state(path, config=None):
    r"""The state in ``path``; a ValueError naming the file if it is not one, or (given ``config``)
    if it holds a run of another model or dataset."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:
        raise ValueError(f"config key resume_file: {path} cannot be read as a resume state ({error})") from error
    if not isinstance(state, dict) or state.get("format") != RESUME_FORMAT:
        raise ValueError(f"config key resume_file: {path} is not a recbole-darec resume state "
                         f"(expected format {RESUME_FORMAT!r})")
    if config is not None and (state["model"], state["dataset"]) != (config["model"], config["dataset"]):
        raise ValueError(
            f"config key resume_file: {path} holds a run of {state['model']} on {state['dataset']}, "
            f"not of {config['model']} on {config['dataset']}; delete it or choose another resume_file"
        )
    if config is not None:
        world_size = state.get("world_size", 1)
        if world_size != _world(config)[1]:
            raise ValueError(f"config key resume_file: {path} was written by a run of {world_size} process(es), "
                             f"this run has {_world(config)[1]}; resume it with as many")
    return state


def write_resume_state(trainer, path, epoch_idx, train_data, best_epoch, fit_seconds):
    rank, world_size = _world(trainer.config)
    random_states = _random_states(train_data)
    if world_size > 1:
        every_rank = [None] * world_size
        torch.distributed.all_gather_object(every_rank, random_states)
        random_states = every_rank
    if rank != 0:
        return
    state = {
        "format": RESUME_FORMAT,
        "model": trainer.config["model"],
        "dataset": trainer.config["dataset"],
        "epoch": epoch_idx,
        "cur_step": trainer.cur_step,
        "best_valid_score": trainer.best_valid_score,
        "best_valid_result": trainer.best_valid_result,
        "best_epoch": best_epoch,
        "best_model_file": trainer.saved_model_file,
        "fit_seconds": fit_seconds,
        "state_dict": trainer.model.state_dict(),
        "other_parameter": trainer.model.other_parameter(),
        "optimizer": trainer.optimizer.state_dict(),
        "world_size": world_size,
        "random": random_states,
    }
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    temporary = f"{path}.tmp{os.getpid()}"
    torch.save(state, temporary)
    os.replace(temporary, path)


def _continue_from(trainer, state, path, train_data, saved):
    if saved and not os.path.exists(state["best_model_file"]):
        raise FileNotFoundError(
            f"config key resume_file: {path} continues a run whose best checkpoint "
            f"{state['best_model_file']} is gone; the continued run could not test its best model"
        )
    trainer.model.load_state_dict(state["state_dict"])
    trainer.model.load_other_parameter(state["other_parameter"])
    trainer.optimizer.load_state_dict(state["optimizer"])
    trainer.start_epoch = state["epoch"] + 1
    trainer.cur_step = state["cur_step"]
    trainer.best_valid_score = state["best_valid_score"]
    trainer.best_valid_result = state["best_valid_result"]
    trainer.saved_model_file = state["best_model_file"]
    rank, world_size = _world(trainer.config)
    _restore_random_states(state["random"][rank] if world_size > 1 else state["random"], train_data)
    trainer.logger.info(f"resume_file {path}: continuing after epoch {state['epoch']} "
                        f"(best epoch so far {state['best_epoch']})")


def resumable(fit):
    r"""``Trainer.fit`` that honours the config key ``resume_file`` (see the module docstring)."""
    if getattr(fit, "_recbole_darec_resumable", False):
        return fit

    @functools.wraps(fit)
    def wrapper(self, train_data, valid_data=None, verbose=True, saved=True, show_progress=False,
                callback_fn=None):
        path = self.config["resume_file"]
        if not path:
            return fit(self, train_data, valid_data, verbose, saved, show_progress, callback_fn)
        path = str(path)
        progress = {"best_epoch": None, "seconds": 0.0}
        if os.path.exists(path):
            state = read_resume_state(path, self.config)
            _continue_from(self, state, path, train_data, saved)
            progress = {"best_epoch": state["best_epoch"], "seconds": state["fit_seconds"]}
        start = time.perf_counter()

        def after_validation(epoch_idx, valid_score):
            if self.cur_step == 0:  # RecBole's early_stopping zeroes it when the score ties or beats the best
                progress["best_epoch"] = epoch_idx + 1
            seconds = progress["seconds"] + time.perf_counter() - start
            write_resume_state(self, path, epoch_idx, train_data, progress["best_epoch"], seconds)
            if callback_fn:
                callback_fn(epoch_idx, valid_score)

        result = fit(self, train_data, valid_data, verbose, saved, show_progress, after_validation)
        if _world(self.config)[0] == 0 and os.path.exists(path):
            os.remove(path)
        return result

    wrapper._recbole_darec_resumable = True
    return wrapper


def apply_resume_option():
    r"""Teach RecBole's base ``Trainer.fit`` the ``resume_file`` key (every trainer inherits it)."""
    from recbole.trainer import Trainer

    Trainer.fit = resumable(Trainer.fit)
