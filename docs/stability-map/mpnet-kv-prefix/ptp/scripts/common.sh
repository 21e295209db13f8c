# #43: MPNet-base with the key/value prefix at vanilla's validation-tuned lr (1e-2, interior of 3e-3/1e-2/3e-2),
# prompt 20, 6 epochs, 32 sentiment examples, validation once at the last epoch, bf16 autocast on the AMX Xeon.
export PATH=/work/main/.venv/bin:$PATH OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
C="--model mpnet --task sentiment --train-size 32 --epochs 6 --batch-size 4 --eval-every 6 --lr 1e-2 --prefix-len 20 --method prefix --precision bf16 --radii relative --track none"
