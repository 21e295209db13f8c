"""What every run of one experiment shares besides its settings: one object, passed whole where
stability, sweep, the engine and the paper's grid took the same seven arguments one by one."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from training.protocol import TrainingData, open_data


@dataclass
class Experiment:
    """The task, where its data comes from (a source, official files), the victim of adversarial
    partners, the log and the tracker, and the task's data, opened once on first use."""
    task: str
    source: str = "auto"
    data_dir: str | None = None
    victim: str | None = None
    log: Callable = print
    track: str = "auto"
    data: TrainingData | None = field(default=None, repr=False)

    def opened(self) -> TrainingData:
        if self.data is None:
            self.data = open_data(self.task, source=self.source, data_dir=self.data_dir, log=self.log)
        return self.data
