"""Which share of the work this process does: its rank among WORLD_SIZE processes, as torchrun
and `accelerate launch` set them (one process: rank 0 of 1). Shards share files, not a process
group, so machines need only a shared filesystem for the output folder."""
from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Shard:
    rank: int = 0
    world: int = 1

    @classmethod
    def from_env(cls) -> "Shard":
        return cls(int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1")))

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def label(self) -> str:
        return f" [shard {self.rank}/{self.world}]" if self.world > 1 else ""
