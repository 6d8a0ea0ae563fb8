"""Binary Diffusion (Kinakh & Voloshynovskiy 2024): rows as bit vectors, XOR noise, an MLP
denoiser."""
