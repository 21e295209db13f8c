# The MPNet cell of the stability map (#28): P-tuning v2's BERT-large RTE setting (lr 1e-2, prompt 20),
# 6 epochs, 32 sentiment examples, validation once, at the last epoch (it picks settings, not epochs), bf16 autocast.
export PATH=/work/main/.venv/bin:$PATH OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
C="--model mpnet --task sentiment --train-size 32 --epochs 6 --batch-size 4 --eval-every 6 --lr 1e-2 --prefix-len 20 --precision bf16 --radii relative --track none"
