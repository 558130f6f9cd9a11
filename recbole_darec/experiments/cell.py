r"""One run of one cell, as every experiment script trains it: RecBole's ``run_recbole`` with the
resume state of :mod:`recbole_darec.resume`, the epochs it trained and the epoch of its best
validation counted, a line printed per validation when asked, and its row appended to a runs file."""

import contextlib
import os
import shutil
import tempfile
import time

from recbole_darec.experiments.runs import append_run, claimed, read_runs


@contextlib.contextmanager
def watch_training(before=None, progress=None):
    r"""Count the epochs RecBole's ``Trainer.fit`` trains and find the epoch of the best validation
    score (``run_recbole`` returns neither). Patches the base class, so every trainer that calls
    ``super()._train_epoch`` / ``_valid_epoch`` (SGL's, DaRec's) is counted; restored on exit.
    ``before``: what a resumed run had seen (``epochs``, ``best_epoch``, ``best``). ``progress``:
    a label (``"DaRecLightGCN seed 1"``); each validation then prints one line under it."""
    from recbole.trainer import Trainer

    seen = {"epochs": 0, "best_epoch": None, "best": None, **(before or {})}
    train_epoch, valid_epoch = Trainer._train_epoch, Trainer._valid_epoch

    def counted_train_epoch(self, train_data, epoch_idx, *args, **kwargs):
        seen["epochs"] = max(seen["epochs"], epoch_idx + 1)
        return train_epoch(self, train_data, epoch_idx, *args, **kwargs)

    def tracked_valid_epoch(self, *args, **kwargs):
        score, result = valid_epoch(self, *args, **kwargs)
        # RecBole's early_stopping counts an equal score as a gain and saves that later checkpoint,
        # which is the one tested: the best epoch is the last of equal scores.
        better = seen["best"] is None or (score >= seen["best"] if self.valid_metric_bigger else score <= seen["best"])
        if better:
            seen["best"], seen["best_epoch"] = score, seen["epochs"]
        if progress:
            print(f"  {progress}: epoch {seen['epochs']}, valid {self.valid_metric} {score:.4f} "
                  f"(best {seen['best']:.4f} at epoch {seen['best_epoch']})", flush=True)
        return score, result

    Trainer._train_epoch, Trainer._valid_epoch = counted_train_epoch, tracked_valid_epoch
    try:
        yield seen
    finally:
        Trainer._train_epoch, Trainer._valid_epoch = train_epoch, valid_epoch


def progress_before(resume_file):
    r"""What an interrupted run had done by its last validation, from its ``resume_file``: the
    epochs, best epoch and score (for :func:`watch_training`) and the seconds spent; {} if none."""
    from recbole_darec.resume import read_resume_state

    if not os.path.exists(resume_file):
        return {}
    state = read_resume_state(resume_file)
    return {"epochs": state["epoch"] + 1, "best_epoch": state["best_epoch"],
            "best": state["best_valid_score"], "seconds": state["fit_seconds"]}


def _trains_one_epoch(model):
    from recbole.utils import ModelType, get_model

    return get_model(model).type == ModelType.TRADITIONAL


def train_run(model, dataset, seed, config_files, overrides, resume_dir=None, evaluate=None, progress=False):
    r"""Train and test one model with ``run_recbole``; the run's row. With ``resume_dir`` the best
    checkpoint and a ``resume_file`` (recbole_darec/resume.py) live there, so that an interrupted
    run continues from its last validation when called again (the row then says after which
    epoch, and its seconds include the interrupted part's training); the caller removes the
    folder once the row is safe. ``evaluate(checkpoint file)`` adds its dict of metrics to the row
    (the cold-start metrics of run_scripts/cold_start.py). ``progress`` prints a line per validation."""
    import recbole_darec  # noqa: F401
    from recbole.quick_start import run_recbole

    config = {"seed": seed, "state": "WARNING", **overrides}
    if _trains_one_epoch(model):
        # RecBole's TraditionalTrainer trains one epoch whatever the config says; with an eval_step
        # above 1 it never validates, so never saves, and the test then loads a missing checkpoint.
        config["eval_step"] = 1
    before = {}
    if resume_dir is None:
        config["checkpoint_dir"] = tempfile.mkdtemp(prefix="demo-ckpt-")
    else:
        resume_file = os.path.join(resume_dir, "run.resume")
        config.update(checkpoint_dir=resume_dir, resume_file=resume_file)
        before = progress_before(resume_file)
        if before:
            print(f"  {model} seed {seed}: resuming after epoch {before['epochs']} ({resume_file})", flush=True)
    from recbole_darec.experiments.vectors import vectors_digest

    vectors = vectors_digest(model, dataset, config_files, seed, overrides)
    start = time.perf_counter()
    label = f"{model} seed {seed}" if progress else None
    with watch_training({k: v for k, v in before.items() if k != "seconds"}, label) as seen:
        result = run_recbole(model=model, dataset=dataset, config_file_list=config_files, config_dict=config)
    seconds = time.perf_counter() - start + before.get("seconds", 0.0)
    row = {"model": model, "seed": seed, **result["test_result"], "best_valid": result["best_valid_score"],
           "seconds": seconds, "epochs": seen["epochs"], "best_epoch": seen["best_epoch"]}
    if evaluate is not None:
        saved = [os.path.join(config["checkpoint_dir"], f) for f in os.listdir(config["checkpoint_dir"])
                 if f.endswith(".pth")]
        row.update(evaluate(max(saved, key=os.path.getmtime)))
    if before:
        row["resumed_after_epoch"] = before["epochs"]
    if vectors:
        row["vectors"] = vectors
    print(f"  {model} seed {seed}: " + ", ".join(f"{m} {v:.4f}" for m, v in result["test_result"].items())
          + f", {seconds:.0f} s, {seen['epochs']} epochs (best at {seen['best_epoch']})", flush=True)
    return row


def train_cell(runs_path, folder, label, model, dataset, seed, config_files, overrides, bookkeeping,
               counts=lambda run: True, evaluate=None):
    r"""Train one cell unless another invocation holds it or has finished it (a row with
    ``bookkeeping``, ``model`` and ``seed`` for which ``counts(row)``); append its row and only then
    drop its folder. The runs file after this, or None if the cell was skipped."""
    with claimed(folder) as mine:
        if not mine:
            print(f"  {label}: another invocation is training it, skipped", flush=True)
            return None
        cell = {**bookkeeping, "model": model, "seed": seed}
        if any(all(run.get(key) == value for key, value in cell.items()) and counts(run)
               for run in read_runs(runs_path)):
            # Another invocation finished it between our look at the runs file and the claim.
            print(f"  {label}: another invocation has just finished it, skipped", flush=True)
            return None
        row = train_run(model, dataset, seed, config_files, overrides, resume_dir=folder, evaluate=evaluate)
        runs = append_run(runs_path, {**bookkeeping, **row})
        # Still holding the cell: an invocation that claims it next finds a fresh folder, not one
        # vanishing under its run.
        shutil.rmtree(folder, ignore_errors=True)
    with contextlib.suppress(OSError):  # only when no other cell is under way
        os.rmdir(os.path.dirname(folder))
    return runs
