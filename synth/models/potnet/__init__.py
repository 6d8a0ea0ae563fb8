"""POTNet (Lu, Zhong & Wong 2024): a generator trained on a marginally penalised Wasserstein
loss."""
