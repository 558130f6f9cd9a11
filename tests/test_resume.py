import os

import pytest
import torch
from recbole.quick_start import run_recbole
from recbole.utils import get_trainer

from conftest import tiny_config
from helpers import build
from recbole_darec.resume import RESUME_FORMAT, read_resume_state

EPOCHS, INTERRUPTED_AT = 6, 3


class Interrupted(Exception):
    pass


def interrupt_at(trainer, epoch):
    train_epoch = trainer._train_epoch

    def train_until(train_data, epoch_idx, *args, **kwargs):
        if epoch_idx == epoch:
            raise Interrupted
        return train_epoch(train_data, epoch_idx, *args, **kwargs)

    trainer._train_epoch = train_until


def trainer_for(root, model, **overrides):
    config, _, (train, valid, _), recommender = build(
        root, model, epochs=EPOCHS, stopping_step=100, **overrides)
    return get_trainer(config["MODEL_TYPE"], config["model"])(config, recommender), train, valid


def interrupted_run(root, model, resume_file, at=INTERRUPTED_AT, **overrides):
    r"""Train ``model`` with ``resume_file`` until an interruption before epoch ``at``."""
    first, train, valid = trainer_for(root, model, resume_file=resume_file, **overrides)
    interrupt_at(first, at)
    with pytest.raises(Interrupted):
        first.fit(train, valid, verbose=False)


def assert_same_weights(a, b):
    a, b = a.state_dict(), b.state_dict()
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name


@pytest.mark.parametrize("model, overrides", [
    ("LightGCN", {}),
    ("SGL", {}),
    ("SimGCL", {"cl_negatives": "all", "reg_scope": "tables"}),
    ("DaRecLightGCN", {"darec_interval": 5}),  # 4 batches an epoch: the interruption falls mid-interval
])
def test_an_interrupted_run_resumes_to_the_uninterrupted_runs_weights_and_scores(tiny, model, overrides):
    resume_file = str(tiny / "run.resume")
    whole, train, valid = trainer_for(tiny, model, checkpoint_dir=str(tiny / "whole"), **overrides)
    whole_score, whole_result = whole.fit(train, valid, verbose=False)

    interrupted_run(tiny, model, resume_file, checkpoint_dir=str(tiny / "parts"), **overrides)
    state = read_resume_state(resume_file)
    assert state["epoch"] == INTERRUPTED_AT - 1
    if "darec_interval" in overrides:  # otherwise the case would not test the phase
        assert state["other_parameter"]["_training_steps"] % overrides["darec_interval"] != 0

    second, train, valid = trainer_for(tiny, model, checkpoint_dir=str(tiny / "parts"),
                                       resume_file=resume_file, **overrides)
    score, result = second.fit(train, valid, verbose=False)

    assert_same_weights(second.model, whole.model)
    assert (score, result) == (whole_score, whole_result)
    assert not os.path.exists(resume_file)  # a finished run leaves nothing to resume


def test_without_the_random_states_the_continuation_differs(tiny, monkeypatch):
    # Shows that the equality above is not automatic: the states are what make it hold.
    import recbole_darec.resume as resume

    whole, train, valid = trainer_for(tiny, "SGL", checkpoint_dir=str(tiny / "whole"))
    whole.fit(train, valid, verbose=False)
    interrupted_run(tiny, "SGL", str(tiny / "run.resume"), checkpoint_dir=str(tiny / "parts"))
    monkeypatch.setattr(resume, "_restore_random_states", lambda states, train_data: None)
    second, train, valid = trainer_for(tiny, "SGL", checkpoint_dir=str(tiny / "parts"),
                                       resume_file=str(tiny / "run.resume"))
    second.fit(train, valid, verbose=False)
    assert not torch.equal(second.model.user_embedding.weight, whole.model.user_embedding.weight)


def test_run_recbole_resumes_after_an_interruption_and_tests_the_best_model(tiny, monkeypatch):
    from recbole.trainer import Trainer

    config = tiny_config(tiny, epochs=EPOCHS, stopping_step=100)
    whole = run_recbole(model="DaRecLightGCN", dataset="tiny", config_dict=config)

    resumable = {**config, "resume_file": str(tiny / "saved" / "run.resume")}
    train_epoch = Trainer._train_epoch

    def interrupted(self, train_data, epoch_idx, *args, **kwargs):
        if epoch_idx == INTERRUPTED_AT:
            raise Interrupted
        return train_epoch(self, train_data, epoch_idx, *args, **kwargs)

    monkeypatch.setattr(Trainer, "_train_epoch", interrupted)
    with pytest.raises(Interrupted):
        run_recbole(model="DaRecLightGCN", dataset="tiny", config_dict=resumable)
    monkeypatch.setattr(Trainer, "_train_epoch", train_epoch)
    resumed = run_recbole(model="DaRecLightGCN", dataset="tiny", config_dict=resumable)

    assert resumed["best_valid_score"] == whole["best_valid_score"]
    assert resumed["test_result"] == whole["test_result"]


def test_validation_writes_the_state_and_the_users_callback_still_runs(tiny):
    trainer, train, valid = trainer_for(tiny, "LightGCN", resume_file=str(tiny / "run.resume"))
    seen = []

    def callback(epoch_idx, valid_score):
        seen.append(epoch_idx)
        state = read_resume_state(str(tiny / "run.resume"))
        assert (state["format"], state["epoch"], state["model"]) == (RESUME_FORMAT, epoch_idx, "LightGCN")

    trainer.fit(train, valid, verbose=False, callback_fn=callback)
    assert seen == list(range(EPOCHS))


def test_without_the_key_nothing_is_written(tiny):
    trainer, train, valid = trainer_for(tiny, "LightGCN", checkpoint_dir=str(tiny / "ckpt"))
    trainer.fit(train, valid, verbose=False)
    assert [f for f in os.listdir(tiny / "ckpt") if "resume" in f] == []
    assert len(os.listdir(tiny / "ckpt")) == 1  # RecBole's best checkpoint only


def test_a_state_of_another_model_is_refused_naming_both(tiny):
    path = str(tiny / "run.resume")
    interrupted_run(tiny, "LightGCN", path, at=2)
    other, train, valid = trainer_for(tiny, "SGL", resume_file=path)
    with pytest.raises(ValueError, match=r"resume_file: .*run\.resume holds a run of LightGCN on tiny, not of SGL on tiny"):
        other.fit(train, valid, verbose=False)


@pytest.mark.parametrize("content", [b"not a checkpoint", None])
def test_a_file_that_is_not_a_resume_state_is_refused(tiny, content):
    path = tiny / "run.resume"
    if content is None:  # RecBole's own checkpoint is a different thing
        torch.save({"epoch": 1, "state_dict": {}}, path)
    else:
        path.write_bytes(content)
    trainer, train, valid = trainer_for(tiny, "LightGCN", resume_file=str(path))
    with pytest.raises(ValueError, match=r"config key resume_file: .*run\.resume"):
        trainer.fit(train, valid, verbose=False)


def test_a_lost_best_checkpoint_is_refused_before_training(tiny):
    path = str(tiny / "run.resume")
    interrupted_run(tiny, "LightGCN", path, at=2)
    os.remove(read_resume_state(path)["best_model_file"])
    second, train, valid = trainer_for(tiny, "LightGCN", resume_file=path)
    with pytest.raises(FileNotFoundError, match="best checkpoint .* is gone"):
        second.fit(train, valid, verbose=False)
