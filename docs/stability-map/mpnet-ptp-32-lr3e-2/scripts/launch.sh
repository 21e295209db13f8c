#!/usr/bin/env bash
# Starts each worker as a core frees up from the lr x prompt slice (/work/mapmp6): the sweep first.
cd /work/mpcollapse
n() { pgrep -fc "bash worker.sh (8|20) "; }
while [ "$(n)" -ge 2 ]; do sleep 15; done
setsid nohup bash worker.sh sweep > worker-1.log 2>&1 &
while [ "$(n)" -ge 1 ]; do sleep 15; done
setsid nohup bash worker.sh > worker-2.log 2>&1 &
