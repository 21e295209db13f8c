# #55: MPNet-base, P-tuning v2's key/value prefix, lr 1e-2 (vanilla's validation-tuned pick at 6 epochs), prompt 20,
# 20 epochs, 32 sentiment examples, batch 4, validation every 2nd epoch, bf16 autocast, one thread a process,
# code frozen at one commit (a git worktree on PYTHONPATH) so that edits to the checkout never reach a running cell.
export PATH=/work/main/.venv/bin:$PATH OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 PYTHONPATH=/work/kv20/code
C="--model mpnet --task sentiment --train-size 32 --epochs 20 --batch-size 4 --eval-every 2 --lr 1e-2 --prefix-len 20 --method prefix --precision bf16 --radii relative --track none"
