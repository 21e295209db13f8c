# The MPNet cell where vanilla collapses (#28): lr 3e-2 (the lr slice's top), otherwise the first
# MPNet PTP cell's settings: prompt 20, 6 epochs, 32 sentiment examples, batch 4, bf16 autocast,
# validation once, at the last epoch (it picks settings, not epochs).
export PATH=/work/main/.venv/bin:$PATH OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false
C="--model mpnet --task sentiment --train-size 32 --epochs 6 --batch-size 4 --eval-every 6 --lr 3e-2 --prefix-len 20 --precision bf16 --radii relative --track none"
