"""Plugins: a family defined outside the package (a Bernoulli-bandit env and an epsilon-greedy agent, written into a
temporary folder, never into dogym) runs through `train.py --plugin MODULE compare` with fork workers, spawn workers
and Ray tasks, all to the same results; the protocol names a missing piece in one error; entry points load plugins;
reference policies fit the envs their families declare, and `random` fits every env."""

from __future__ import annotations

import csv
import json
import multiprocessing
import os
import sys
import textwrap
from pathlib import Path

import gymnasium as gym
import pytest

import dogym.envs  # noqa: F401
from dogym.agents import registry
from dogym.agents.protocol import FAMILY_METHODS, ProtocolError, check_summary
from dogym.experiments.cli import dogym_env_ids, main

PLUGIN = "bandit_plugin"
#: The external family: ~100 lines a user would write, importing only dogym's public protocol and registry.
PLUGIN_SOURCE = '''
    """A Bernoulli bandit and an epsilon-greedy agent, plugged into dogym from outside."""

    from __future__ import annotations

    import json
    from pathlib import Path

    import gymnasium as gym
    import numpy as np

    from dogym.agents.protocol import EpisodicAgent, EpisodicFamily, RunContext
    from dogym.agents.registry import AgentSpec, register_agent, register_family

    ENV = "bandit/Bernoulli-v0"


    class BernoulliBandit(gym.Env):
        """Arms paying 1 with probabilities `probs`; episodes of `horizon` pulls."""

        def __init__(self, probs=(0.2, 0.5, 0.8), horizon=10):
            self.probs, self.horizon = np.asarray(probs), horizon
            self.action_space = gym.spaces.Discrete(len(probs))
            self.observation_space = gym.spaces.Box(0.0, 1.0, shape=(1,), dtype=np.float32)

        def reset(self, *, seed=None, options=None):
            super().reset(seed=seed)
            self.t = 0
            return np.zeros(1, dtype=np.float32), {}

        def step(self, action):
            self.t += 1
            reward = float(self.np_random.random() < self.probs[int(action)])
            return np.zeros(1, dtype=np.float32), reward, False, self.t >= self.horizon, {}


    class EpsilonGreedy(EpisodicAgent):
        """Sample means per arm; a random arm with probability epsilon, else the best one."""

        name = "eps-greedy"

        def __init__(self, context: RunContext) -> None:
            self.context, self.epsilon = context, float(context.hyperparams["epsilon"])
            self.env = gym.make(context.env_id)
            n = self.env.action_space.n
            self.counts, self.values = np.zeros(n), np.zeros(n)
            self.rng, self.steps = np.random.default_rng(context.seed), 0

        def learn(self, budget, checkpoint=None):
            self.env.reset(seed=self.context.seed)
            while self.steps < budget:
                greedy = self.rng.random() >= self.epsilon
                arm = int(np.argmax(self.values)) if greedy else int(self.rng.integers(len(self.values)))
                _, reward, terminated, truncated, _ = self.env.step(arm)
                self.counts[arm] += 1
                self.values[arm] += (reward - self.values[arm]) / self.counts[arm]
                self.steps += 1
                if terminated or truncated:
                    self.env.reset()
            return True

        def act(self, observation, info):
            return int(np.argmax(self.values))

        def save(self, folder: Path) -> None:
            (folder / "values.json").write_text(json.dumps(self.values.tolist()))

        def state(self, folder: Path) -> dict:
            return {"counts": self.counts, "values": self.values, "steps": self.steps}

        def restore(self, state, folder: Path) -> None:
            self.counts, self.values, self.steps = state["counts"], state["values"], state["steps"]

        def summary(self) -> dict:
            return {"timesteps": self.steps, "bandit": {"best_arm": int(np.argmax(self.values))}}


    class BanditFamily(EpisodicFamily):
        name = "bandit"
        budget_unit = "pulls"
        default_budget = 100
        metrics = {"eval/reward_mean": True, "bandit/best_arm": True}
        headline = ("eval/reward_mean", "bandit/best_arm")

        def build(self, context):
            return EpsilonGreedy(context)

        def load(self, context):
            agent = EpsilonGreedy(context)
            agent.values = np.array(json.loads((context.run_dir / "values.json").read_text()))
            return agent

        def hyperparameter_keys(self, spec):
            return frozenset({"epsilon"})

        def curves(self, context):
            return []

        def plot(self, rows, out_dir, title):
            return []


    if ENV not in gym.registry:
        gym.register(ENV, entry_point=f"{__name__}:BernoulliBandit")
    register_family("bandit", BanditFamily())
    register_agent(AgentSpec("eps-greedy", "bandit", "epsilon-greedy on a Bernoulli bandit", (ENV,),
                             hyperparams=Path(__file__).with_name("eps-greedy.yml")))
'''
COMPARE = ["compare", "--agents", "eps-greedy", "--seeds", "0,1", "--timesteps", "200", "--workers", "2",
           "--eval-episodes", "3", "--quiet"]  # fmt: skip


@pytest.fixture
def plugin_folder(tmp_path_factory, monkeypatch):
    """The plugin written into a folder outside the package, on sys.path; the registry and the imported module are
    restored afterwards, so other tests never see the plugin."""
    folder = tmp_path_factory.mktemp("outside")
    (folder / f"{PLUGIN}.py").write_text(textwrap.dedent(PLUGIN_SOURCE))
    (folder / "eps-greedy.yml").write_text("default:\n  epsilon: 0.2\n")
    monkeypatch.syspath_prepend(str(folder))
    for name in ("FAMILIES", "AGENTS", "POLICIES", "_PLUGINS"):
        monkeypatch.setattr(registry, name, dict(getattr(registry, name)))
    yield folder
    sys.modules.pop(PLUGIN, None)
    gym.registry.pop("bandit/Bernoulli-v0", None)


@pytest.fixture
def start_method():
    """Set the default start method of process pools for one test."""
    previous = multiprocessing.get_start_method(allow_none=True)

    def use(method: str) -> None:
        multiprocessing.set_start_method(method, force=True)

    yield use
    multiprocessing.set_start_method(previous, force=True)


def _results(out: Path) -> list[dict[str, str]]:
    with (out / "results.csv").open(newline="") as handle:
        return sorted(csv.DictReader(handle), key=lambda r: (r["seed"], r["phase"], r["metric"]))


def test_an_external_family_runs_through_compare_on_fork_spawn_and_ray_workers(plugin_folder, start_method, tmp_path):
    """The plugin's grid on fork workers, spawn workers and Ray tasks (a local Ray with 2 CPUs, started by the grid),
    all to the same results. Spawned workers start without the driver's registrations (the bug: `unknown agent`);
    Ray workers do not even share its sys.path, so they find the plugin by the folder the driver imported it from."""
    outs = {method: tmp_path / method for method in ("fork", "spawn", "ray")}
    for method in ("fork", "spawn"):
        start_method(method)
        assert main(["--plugin", PLUGIN, *COMPARE, "--out", str(outs[method])]) == 0
    rows = _results(outs["fork"])
    assert {r["seed"] for r in rows} == {"0", "1"} and {"reward_mean", "best_arm"} <= {r["metric"] for r in rows}
    metrics = json.loads((outs["spawn"] / "runs/eps-greedy/bandit_Bernoulli-v0_seed1/metrics.json").read_text())
    assert metrics["timesteps"] == 200 and metrics["hyperparams"] == {"epsilon": 0.2}
    assert metrics["eval"]["episodes"] == 3  # the EpisodicFamily's payload, built by the base class
    assert _results(outs["spawn"]) == rows
    if not os.environ.get("CI"):  # CI installs the ray extra: there the Ray part must run, never skip
        pytest.importorskip("ray", reason="the ray extra is not installed (pip install -e '.[test,ray]')")
    assert main(["--plugin", PLUGIN, *COMPARE, "--backend", "ray", "--out", str(outs["ray"])]) == 0
    assert _results(outs["ray"]) == rows


def test_plugin_flag_goes_before_the_command_and_a_bad_module_is_one_line(plugin_folder, capsys):
    assert main(["--plugin", "no_such_plugin_module", "list"]) == 2
    err = capsys.readouterr().err
    assert "plugin 'no_such_plugin_module' cannot be imported" in err and len(err.strip().splitlines()) == 1
    with pytest.raises(SystemExit):
        main(["list", "--plugin", PLUGIN])  # after the command: not an option of the subcommand
    assert "unrecognized arguments: --plugin" in capsys.readouterr().err
    assert main(["--plugin", PLUGIN, "list"]) == 0
    out = capsys.readouterr().out
    assert "bandit/Bernoulli-v0" in out and "eps-greedy" in out and "agents of family bandit" in out
    assert "BEFORE the command" in " ".join(_help(capsys).split())


def _help(capsys) -> str:
    with pytest.raises(SystemExit):
        main(["--help"])
    return capsys.readouterr().out


def test_evaluate_run_of_a_plugin_agent_and_a_reference_policy_on_its_env(plugin_folder, tmp_path, capsys):
    runs = tmp_path / "runs"
    argv = ["--plugin", PLUGIN, "train", "--agent", "eps-greedy", "--timesteps", "50", "--log-folder", str(runs),
            "--eval-episodes", "1", "--quiet"]  # fmt: skip
    assert main(argv) == 0
    run_dir = runs / "eps-greedy" / "bandit_Bernoulli-v0_seed0"
    capsys.readouterr()
    assert main(["evaluate", "--run", str(run_dir), "--episodes", "4", "--quiet"]) == 0
    assert capsys.readouterr().out.splitlines()[2].split()[:2] == ["eps-greedy", "4"]
    assert "bandit/Bernoulli-v0" in dogym_env_ids()
    assert main(["evaluate", "--agent", "random", "--env", "bandit/Bernoulli-v0", "--episodes", "2", "--quiet"]) == 0


def test_entry_points_load_plugins(plugin_folder):
    """A package's `dogym.plugins` entry point (its dist-info's entry_points.txt, as pip writes it) is loaded like
    --plugin; dogym's own pyproject names its built-in plugin, and the installed dogym declares it."""
    import tomllib

    pyproject = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    assert pyproject["project"]["entry-points"]["dogym.plugins"] == {"builtin": registry.BUILTIN_PLUGIN}
    assert ("builtin", registry.BUILTIN_PLUGIN) in registry.plugin_entry_points()
    dist = plugin_folder / "bandit_plugin-0.1.dist-info"
    dist.mkdir()
    text = "[console_scripts]\nbandit = other:main\n\n[dogym.plugins]\nbandit = bandit_plugin\n"
    (dist / "entry_points.txt").write_text(text)
    assert ("bandit", PLUGIN) in registry.plugin_entry_points() and (
        "bandit",
        "other",
    ) not in registry.plugin_entry_points()
    assert "eps-greedy" not in registry.AGENTS
    registry.load_plugins()
    assert registry.agent_spec("eps-greedy").family == "bandit"
    assert [name for name, _ in registry.loaded_plugins()] == [registry.BUILTIN_PLUGIN, PLUGIN]


# --------------------------------------------------------------------------------------------- missing pieces
def _family(**changes):
    """A complete minimal family (it passes `check_family`), with `changes`: None deletes an attribute."""
    namespace = {"name": "bandit", "budget_unit": "pulls", "default_budget": 10, "metrics": {"eval/reward_mean": True},
                 "headline": ("eval/reward_mean",)}  # fmt: skip
    namespace |= {m: lambda self, *args: None for m in FAMILY_METHODS}
    namespace |= changes
    return type("Partial", (), {k: v for k, v in namespace.items() if v is not None})()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"curves": None}, "family 'bandit' has no method 'curves'"),
        ({"hyperparameter_keys": None}, "family 'bandit' has no method 'hyperparameter_keys'"),
        ({"budget_unit": None}, "family 'bandit' has no attribute 'budget_unit'"),
        ({"metrics": {"eval/reward_mean": "up"}}, "metrics must map 'phase/metric' keys to True"),
        ({"headline": ("eval/nothing",)}, r"headline metric\(s\) \['eval/nothing'\] are not in its metrics"),
        ({"default_budget": 0}, "default_budget must be >= 1"),
    ],
)
def test_registration_names_the_missing_piece(monkeypatch, changes, message):
    monkeypatch.setattr(registry, "FAMILIES", dict(registry.FAMILIES))
    with pytest.raises(ProtocolError, match=message):
        registry.register_family("bandit", _family(**changes))
    assert "bandit" not in registry.FAMILIES


def test_a_lazy_entry_is_checked_on_first_use(monkeypatch):
    monkeypatch.setattr(registry, "FAMILIES", dict(registry.FAMILIES))
    monkeypatch.setattr(sys.modules[__name__], "PARTIAL", _family(plot=None), raising=False)
    registry.register_family("bandit", f"{__name__}:PARTIAL")
    with pytest.raises(ProtocolError, match="family 'bandit' has no method 'plot'"):
        registry.family("bandit")


def test_an_agent_without_a_piece_fails_before_training_and_a_summary_needs_timesteps(
    plugin_folder, monkeypatch, tmp_path, capsys
):
    import importlib
    import types

    plugin = importlib.import_module(PLUGIN)
    argv = ["train", "--agent", "eps-greedy", "--timesteps", "5", "--log-folder", str(tmp_path), "--quiet"]
    monkeypatch.delattr(plugin.EpsilonGreedy, "save")
    monkeypatch.setattr(plugin.EpsilonGreedy, "__abstractmethods__", frozenset({"save"}))
    assert main(argv) == 2  # a subclass of Agent: Python names the missing piece
    assert "Can't instantiate abstract class EpsilonGreedy with abstract method save" in capsys.readouterr().err
    duck = types.SimpleNamespace(learn=lambda budget, checkpoint=None: True, state=dict, restore=print)
    monkeypatch.setattr(plugin.BanditFamily, "build", lambda self, context: duck)
    assert main(argv) == 2  # a duck-typed agent: the runner's check names it
    assert "family 'bandit': its agent SimpleNamespace has no method 'save'" in capsys.readouterr().err
    with pytest.raises(ProtocolError, match="no number 'timesteps'"):
        check_summary("bandit", {"steps": 3})


def test_an_evaluation_policy_without_name_or_reset_is_named(plugin_folder, monkeypatch, tmp_path, capsys):
    """The runner's evaluation episodes need `name`, `reset` and `act` (an AttributeError deep down before)."""
    import importlib
    import types

    plugin = importlib.import_module(PLUGIN)
    monkeypatch.setattr(plugin.BanditFamily, "policy", lambda self, agent: types.SimpleNamespace(act=agent.act))
    argv = ["train", "--agent", "eps-greedy", "--timesteps", "5", "--log-folder", str(tmp_path), "--quiet"]
    assert main(argv) == 2
    assert "its evaluation policy (SimpleNamespace) has no attribute 'name'" in capsys.readouterr().err


def test_higher_is_better_reads_the_declared_direction():
    assert registry.higher_is_better("dcgo", "truth/regret") is False
    assert registry.higher_is_better("identification", "identification/final_loss") is False
    assert registry.higher_is_better("safe_region", "truth/recall") is True
    with pytest.raises(ValueError, match="declares no metric 'eval/nope'"):
        registry.higher_is_better("dcgo", "eval/nope")


# ----------------------------------------------------------------------------------------- reference policies
@pytest.mark.parametrize("env_id", sorted(e for e in gym.registry if e.startswith("dogym/")))
def test_random_acts_on_every_env(env_id):
    """`random` fits every env: its actions are accepted for a few steps (the bug: Dict spaces have no `n`)."""
    env = gym.make(env_id)
    policy = registry.make_policy("random", env, env_id, 0)
    obs, info = env.reset(seed=0)
    for _ in range(3):
        obs, _, terminated, truncated, info = env.step(policy.act(obs, info))
        if terminated or truncated:
            break
    env.close()


def test_families_declare_their_reference_policies_and_a_bad_pairing_is_one_line(capsys):
    assert registry.policies_for("dogym/ToySCM-v0") == ["random"]
    assert registry.policies_for("dogym/FaultAlarmSmall-v0") == ["oracle", "random", "random-active"]
    argv = ["evaluate", "--agent", "random,oracle", "--env", "dogym/ToySCM-v0", "--episodes", "1", "--quiet"]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert "reference policy 'oracle' does not fit dogym/ToySCM-v0" in captured.err
    assert "policies for dogym/ToySCM-v0: random" in captured.err and captured.out == ""  # nothing ran
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert any(line.split()[0] == "random" and line.endswith("envs: every env") for line in out.splitlines() if line)
    oracle = next(line for line in out.splitlines() if line.strip().startswith("oracle ") and "envs:" in line)
    assert "dogym/FaultAlarm-v0" in oracle and "ToySCM" not in oracle
