"""Safe-RL baselines for the safe-region envs: PPO-Lagrangian (Ray, Achiam and Amodei, "Benchmarking Safe
Exploration in Deep Reinforcement Learning") and CPO (Achiam et al., "Constrained Policy Optimization"), compact
torch versions on Stable-Baselines3's on-policy machinery, with OmniSafe's defaults."""
