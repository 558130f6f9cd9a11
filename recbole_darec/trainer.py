r"""
DaRecTrainer
################################################
RecBole's :class:`~recbole.trainer.Trainer` that logs each loss term by the name the model gives
it (``model.loss_names``) instead of ``train_loss1..N``, to the log and to TensorBoard
(``Loss/Train/<name>``, plus the total as ``Loss/Train``).
"""

from recbole.trainer import Trainer


class DaRecTrainer(Trainer):
    def _term_names(self, losses):
        names = getattr(self.model, "loss_names", None)
        if isinstance(losses, tuple) and names is not None and len(names) == len(losses):
            return names
        return None

    def _generate_train_loss_output(self, epoch_idx, s_time, e_time, losses):
        names = self._term_names(losses)
        if names is None:
            return super()._generate_train_loss_output(epoch_idx, s_time, e_time, losses)
        total = super()._generate_train_loss_output(epoch_idx, s_time, e_time, sum(losses))
        places = self.config["loss_decimal_place"] or 4
        named = ", ".join(f"{name}: {value:.{places}f}" for name, value in zip(names, losses))
        return f"{total[:-1]}, {named}]"

    def _add_train_loss_to_tensorboard(self, epoch_idx, losses, tag="Loss/Train"):
        names = self._term_names(losses)
        if names is None:
            return super()._add_train_loss_to_tensorboard(epoch_idx, losses, tag)
        self.tensorboard.add_scalar(tag, sum(losses), epoch_idx)
        for name, value in zip(names, losses):
            self.tensorboard.add_scalar(f"{tag}/{name}", value, epoch_idx)
