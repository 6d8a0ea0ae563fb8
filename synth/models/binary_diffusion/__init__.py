"""Binary Diffusion (Kulikov et al. 2024): rows as bit vectors, XOR noise, an MLP denoiser."""
