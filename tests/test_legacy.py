"""Tests of ``biv-pipeline legacy``: the original's command lines become ``kedro run --params``."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from kedro.framework.cli.utils import _split_params
from mlflow import MlflowClient

from biv_pipeline.errors import LegacyArgumentError, ParameterError
from biv_pipeline.legacy.command import build_parser, kedro_command, main, translate
from biv_pipeline.legacy.vocabulary import Translation
from biv_pipeline.noise import NoiseConfig
from biv_pipeline.parameters.contract import parse_block
from biv_pipeline.tracking.contract import EXPERIMENT

ORIGINAL_README = Path(__file__).resolve().parents[2] / "shared" / "seed" / "ORIGINAL_README.md"

# The "Run the Code" command and the six "Examples" of the original README, verbatim.
RUN_THE_CODE = (
    'python main.py --experiment_settings="exp_tag,7159,utkf,True" --model_settings="mse,resnet"'
    ' --noise="False" --noise_settings="gamma,-1"  --average_variance="-1"  '
    '--params_settings="manvar,-1"  --parameters="10,5,200,200" --epsilon="0.5" '
    '--distributions_ratio="0.3"'
)
EXAMPLES = [
    'python main.py --experiment_settings="exp_tag,7159,utkf,True" '
    '--model_settings="mse,vanilla_cnn"',
    'python main.py --experiment_settings="exp_tag,7159,utkf,True" --model_settings="biv,resnet" '
    '--noise="True" --noise_settings="uniform,-1"  --average_variance="-1"  '
    '--params_settings="boundaries,-1"  --parameters="0,1" --epsilon="0.5" '
    '--distributions_ratio="1"',
    'python main.py --experiment_settings="exp_tag,7159,utkf,True" --model_settings="biv,resnet" '
    '--noise="True" --noise_settings="uniform,-1"  --average_variance="2000"  '
    '--params_settings="boundaries,-1"  --parameters="0,1,20,10" --epsilon="0.5" '
    '--distributions_ratio="0.5"',
    'python main.py --experiment_settings="exp_tag,7159,utkf,True" --model_settings="mse,resnet" '
    '--noise="True" --noise_settings="uniform,-1"  --average_variance="2000"  '
    '--params_settings="meanvar,-1"  --parameters="0,1,20,10" --distributions_ratio="0.5"',
    'python main.py --experiment_settings="exp_tag,7159,utkf,True" --model_settings="biv,resnet" '
    '--noise="True" --noise_settings="uniform,-1"  --average_variance="2000"  '
    '--params_settings="meanvar,-1"  --parameters="0,1,20,10" --epsilon="0.5" '
    '--distributions_ratio="0.5"',
    'python main.py --experiment_settings="exp_tag,7159,utkf,True" --model_settings="biv,resnet" '
    '--noise="True" --noise_settings="uniform,1"  --average_variance="2000"  '
    '--params_settings="meanvar,-1" --parameters="0,1,20,10" --epsilon="0.5" '
    '--distributions_ratio="0.5"',
]
WINE = (
    '--experiment_settings="t,7159,wine,True" --model_settings="biv,vanilla_ann" --noise="True" '
    '--noise_settings="uniform,-1" --average_variance="-1" --params_settings="meanvar,-1" '
    '--parameters="0.05,1.0,0.0008,0.3" --epsilon="0.5" --distributions_ratio="0.5"'
)

UTKF = {"dataset": "utkf", "tag": "exp_tag", "seed": 7159}
UTKF_INGEST = {"ingest": {"split_seed": 7159, "normalize": True}}
BIMODAL = {
    "enabled": True,
    "distribution": "uniform",
    "threshold": None,
    "components": [[0.0, 20.0], [1.0, 10.0]],
    "average_variance": 2000.0,
    "p": 0.5,
    "hetero_scale": None,
    "units": "raw",
    "seed": 7159,
}
EXPECTED = [
    {**UTKF, **UTKF_INGEST, "loss": "mse", "model": "vanilla_cnn", "noise": {"enabled": False}},
    {
        **UTKF,
        **UTKF_INGEST,
        "loss": "biv",
        "model": "resnet18",
        "epsilon": 0.5,
        "noise": {
            "enabled": True,
            "distribution": "uniform",
            "threshold": None,
            "parameterisation": "bounds",
            "hetero_scale": None,
            "components": [[0.0, 1.0]],
            "average_variance": None,
            "p": 1.0,
            "units": "raw",
            "seed": 7159,
        },
    },
    {
        **UTKF,
        **UTKF_INGEST,
        "loss": "biv",
        "model": "resnet18",
        "epsilon": 0.5,
        "noise": {**BIMODAL, "parameterisation": "bounds"},
    },
    {
        **UTKF,
        **UTKF_INGEST,
        "loss": "mse",
        "model": "resnet18",
        "noise": {**BIMODAL, "parameterisation": "meanvar"},
    },
    {
        **UTKF,
        **UTKF_INGEST,
        "loss": "biv",
        "model": "resnet18",
        "epsilon": 0.5,
        "noise": {**BIMODAL, "parameterisation": "meanvar"},
    },
    {
        **UTKF,
        **UTKF_INGEST,
        "loss": "biv",
        "model": "resnet18",
        "epsilon": 0.5,
        "noise": {**BIMODAL, "parameterisation": "meanvar", "threshold": 1.0},
    },
]


def legacy_args(flags: str) -> list[str]:
    """``legacy`` plus the flags of an original command line (``python main.py`` dropped)."""
    words = shlex.split(flags)
    return ["legacy", *(words[2:] if words[:2] == ["python", "main.py"] else words)]


def run_translate(flags: str) -> Translation:
    return translate(build_parser().parse_args(legacy_args(flags)))


def test_examples_are_the_original_readme_commands():
    readme = " ".join(ORIGINAL_README.read_text().split())
    for command in [RUN_THE_CODE, *EXAMPLES]:
        assert " ".join(command.split()) in readme


def test_run_the_code_example_stops_on_manvar_and_suggests_meanvar():
    with pytest.raises(
        LegacyArgumentError, match=r"params_type .* 'manvar'; did you mean 'meanvar'"
    ):
        run_translate(RUN_THE_CODE)


@pytest.mark.parametrize("index", range(len(EXAMPLES)), ids=[f"example{i + 1}" for i in range(6)])
def test_readme_example_translates_to_the_expected_parameters(index):
    assert run_translate(EXAMPLES[index]) == Translation(EXPECTED[index], [])


@pytest.mark.parametrize("index", [1, 2])
def test_readme_bounds_examples_give_a_valid_noise_block(index):
    NoiseConfig(**run_translate(EXAMPLES[index]).params["noise"])


@pytest.mark.parametrize("index", [3, 4, 5])
def test_readme_meanvar_examples_have_a_zero_mean_that_the_pipeline_rejects(index):
    with pytest.raises(ValueError, match=r"the mean must be > 0"):
        NoiseConfig(**run_translate(EXAMPLES[index]).params["noise"])


def test_wine_command_translates_to_a_valid_noise_block():
    noise = run_translate(WINE).params["noise"]
    assert noise["components"] == [[0.05, 0.0008], [1.0, 0.3]]
    NoiseConfig(**noise)


def test_parameters_pair_first_halves_with_second_halves():
    flags = WINE.replace("0.05,1.0,0.0008,0.3", "1,2,3,10,20,30")
    noise = run_translate(flags).params["noise"]
    assert noise["components"] == [[1.0, 10.0], [2.0, 20.0], [3.0, 30.0]]


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("biv,vanilla_ann", "bvi,vanilla_ann", r"loss .* 'bvi'; did you mean 'biv'"),
        ("biv,vanilla_ann", "biv,resnet18", r"model .* 'resnet18'; did you mean 'resnet'"),
        ("t,7159,wine,True", "t,7159,wien,True", r"dataset .* 'wien'; did you mean 'wine'"),
        ("t,7159,wine,True", "t,7159,wine,true", r"normalize .* 'true'; did you mean 'True'"),
        ("uniform,-1", "unifrom,-1", r"type .* 'unifrom'; did you mean 'uniform'"),
        ("meanvar,-1", "boundary,-1", r"params_type .* 'boundary'; did you mean 'boundaries'"),
    ],
)
def test_unknown_value_stops_with_the_closest_valid_one(old, new, message):
    with pytest.raises(LegacyArgumentError, match=message):
        run_translate(WINE.replace(old, new))


def test_odd_parameter_count_is_an_error_naming_the_flag():
    with pytest.raises(LegacyArgumentError, match=r"--parameters needs an even number .* got 3"):
        run_translate(WINE.replace("0.05,1.0,0.0008,0.3", "0.05,1.0,0.0008"))


def test_packed_flag_with_a_missing_field_is_an_error_naming_the_fields():
    with pytest.raises(LegacyArgumentError, match=r"--model_settings needs 2 .*\(loss,model\)"):
        run_translate(WINE.replace("biv,vanilla_ann", "biv"))


def test_non_numeric_value_is_an_error_naming_the_flag():
    with pytest.raises(LegacyArgumentError, match=r"--epsilon: epsilon must be a number"):
        run_translate(WINE.replace('--epsilon="0.5"', '--epsilon="half"'))


def test_noise_without_its_distribution_flags_is_an_error():
    flags = (
        '--experiment_settings="t,7159,wine,True" --model_settings="biv,vanilla_ann" --noise=True'
    )
    with pytest.raises(LegacyArgumentError, match=r"needs --noise_settings, --params_settings"):
        run_translate(flags)


def test_two_components_without_a_ratio_is_an_error():
    with pytest.raises(LegacyArgumentError, match=r"--distributions_ratio is needed"):
        run_translate(WINE.replace('--distributions_ratio="0.5"', ""))


def test_negative_switches_become_null():
    flags = WINE.replace('--average_variance="-1"', '--average_variance="-5"')
    noise = run_translate(flags).params["noise"]
    assert (noise["average_variance"], noise["hetero_scale"], noise["threshold"]) == (None,) * 3


def test_ratio_outside_unit_interval_is_left_to_the_pipeline():
    noise = run_translate(
        WINE.replace('--distributions_ratio="0.5"', '--distributions_ratio="1.5"')
    )
    assert noise.params["noise"]["p"] == 1.5
    with pytest.raises(ParameterError, match=r"noise.p: input should be less than or equal to 1"):
        parse_block("noise", noise.params["noise"])


def test_noise_settings_with_noise_off_only_warn_and_are_left_out():
    translation = run_translate(WINE.replace('--noise="True"', '--noise="False"'))
    assert translation.params["noise"] == {"enabled": False}
    flags = [
        "noise_settings",
        "params_settings",
        "parameters",
        "average_variance",
        "distributions_ratio",
    ]
    assert translation.warnings == [
        f"--{flag} is ignored: noise is off (--noise=False)" for flag in flags
    ]


def test_new_options_set_data_dir_and_epochs():
    params = run_translate(f"{WINE} --data-dir ../shared/data --epochs 1").params
    assert (params["data_dir"], params["epochs"]) == ("../shared/data", 1)


def test_params_option_reads_back_through_kedro_cli_as_the_same_parameters():
    translation = run_translate(f"{WINE} --data-dir ../shared/data --epochs 1")
    command = kedro_command(translation.params)
    assert _split_params(None, None, command[3]) == translation.params


def test_dry_run_prints_the_block_and_the_command_with_passthrough(capsys):
    status = main([*legacy_args(WINE), "--dry-run", "--", "--env", "local"])
    out = capsys.readouterr().out
    assert status == 0
    assert "\n  components:\n  - [0.05, 0.0008]\n  - [1.0, 0.3]\n" in out
    assert "\nkedro run --params 'dataset=wine,tag=t," in out
    assert out.endswith("  - 0.3' --env local\n")


def test_dry_run_refuses_what_the_run_would_refuse_with_its_line(capsys):
    flags = WINE.replace('--distributions_ratio="0.5"', '--distributions_ratio="2"')
    status = main([*legacy_args(flags), "--dry-run"])
    out, err = capsys.readouterr()
    assert status == 1  # kedro run's status for a refused parameter
    assert err == "Error: noise.p: input should be less than or equal to 1; got 2.0\n"
    assert "p: 2.0" in out  # the parameters the flags became
    assert "kedro run" not in out  # not a command that would fail


def test_dry_run_checks_the_environment_given_after_double_dash(tmp_path, monkeypatch, capsys):
    project = tmp_path / "project"
    shutil.copytree(Path(__file__).resolve().parents[1] / "conf", project / "conf")
    shutil.copy(Path(__file__).resolve().parents[1] / "pyproject.toml", project)
    (project / "src").mkdir()
    (project / "conf" / "ci").mkdir()
    (project / "conf" / "ci" / "parameters.yml").write_text("noise:\n  seed: -1\n")
    monkeypatch.chdir(project)
    flags = WINE.replace('--noise="True"', '--noise="False"')
    assert main([*legacy_args(flags), "--dry-run", "--", "--env", "local"]) == 0
    status = main([*legacy_args(flags), "--dry-run", "--", "--env", "ci"])
    assert status == 1
    assert (
        "Error: noise.seed: input should be greater than or equal to 0" in capsys.readouterr().err
    )


def test_params_after_double_dash_is_refused(capsys):
    status = main([*legacy_args(WINE), "--dry-run", "--", "--params", "lr=0.1"])
    assert status == 2
    assert "not --params after --" in capsys.readouterr().err


def test_error_exits_with_status_2_and_names_the_flag(capsys):
    status = main(legacy_args(RUN_THE_CODE))
    assert status == 2
    assert "--params_settings: params_type" in capsys.readouterr().err


def test_wine_command_runs_end_to_end_and_tags_the_mlflow_run(project, shared_data):
    executable = shutil.which("biv-pipeline", path=str(Path(sys.executable).parent))
    assert executable, "biv-pipeline is not installed: run `pip install -e .`"
    args = [*legacy_args(WINE), "--data-dir", str(shared_data), "--epochs", "1"]
    result = subprocess.run(
        [executable, *args], cwd=project, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    client = MlflowClient(tracking_uri=f"sqlite:///{project / 'mlflow.db'}")
    experiment = client.get_experiment_by_name(EXPERIMENT)
    runs = client.search_runs([experiment.experiment_id])
    assert [run.data.tags.get("tag") for run in runs] == ["t"]


def run_legacy(project: Path, args: list[str]) -> subprocess.CompletedProcess[str]:
    executable = shutil.which("biv-pipeline", path=str(Path(sys.executable).parent))
    assert executable, "biv-pipeline is not installed: run `pip install -e .`"
    return subprocess.run(
        [executable, *args], cwd=project, capture_output=True, text=True, check=False
    )


@pytest.mark.parametrize("index", [0, 1, 2])
def test_readme_examples_run_end_to_end_on_the_face_sample(project, shared_data, index):
    options = ["--data-dir", str(shared_data), "--epochs", "1", "--image-size", "32"]
    result = run_legacy(project, [*legacy_args(EXAMPLES[index]), *options])
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    client = MlflowClient(tracking_uri=f"sqlite:///{project / 'mlflow.db'}")
    experiment = client.get_experiment_by_name(EXPERIMENT)
    (run,) = client.search_runs([experiment.experiment_id])
    assert (run.data.tags["tag"], run.data.params["train.model"]) == (
        "exp_tag",
        EXPECTED[index]["model"],
    )


def test_readme_meanvar_example_stops_with_one_line_naming_the_component(project, shared_data):
    options = ["--data-dir", str(shared_data), "--epochs", "1", "--image-size", "32"]
    result = run_legacy(project, [*legacy_args(EXAMPLES[3]), *options])
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("Error: ")
    assert (
        "noise.components[0] = [0.0, 20.0] is (mean, variance): the mean must be > 0" in last_line
    )


# ---- the 2021-11 grammar (../shared/seed/LATEST_README.md) ----------------------------------
LATEST_README = ORIGINAL_README.with_name("LATEST_README.md")
RUN_THE_CODE_2021 = (
    'python main.py --experiment_settings="exp_tag,7159,utkf,True,16000" '
    '--model_settings="vanilla_cnn,cutoffMSE" --noise_settings="True,binary_uniform" '
    '--params_settings="meanvar_avg,0.5,3000" --parameters="True,0.5,1,0.3,0"'
)
EXPERIMENT_2021 = '--experiment_settings="exp_tag,7159,utkf,True,16000"'
EXAMPLES_2021 = [
    f'python main.py {EXPERIMENT_2021} --model_settings="vanilla_cnn,mse,0.5" '
    '--noise_settings="False"',
    f'python main.py {EXPERIMENT_2021} --model_settings="resnet,biv,0.5" '
    '--noise_settings="True,uniform" --params_settings="boundaries" --parameters="0,1"',
    f'python main.py {EXPERIMENT_2021} --model_settings="resnet,biv,0.5" '
    '--noise_settings="True,uniform" --params_settings="meanvar" --parameters="True,0.5,0.083"',
    f'python main.py {EXPERIMENT_2021} --model_settings="resnet,biv,0.5" '
    '--noise_settings="True,binary_uniform" --params_settings="boundaries,0.5" '
    '--parameters="0,1,1,4"',
    f'python main.py {EXPERIMENT_2021} --model_settings="resnet,mse" '
    '--noise_settings="True,binary_uniform" --params_settings="meanvar,0.5" '
    '--parameters="False,0.5,1,0.083,0"',
    f'python main.py {EXPERIMENT_2021} --model_settings="resnet,biv,0.5" '
    '--noise_settings="True,binary_uniform" --params_settings="meanvar_avg,0.5,2000" '
    '--parameters="False,0.5,1,0.083,0"',
    f'python main.py {EXPERIMENT_2021} --model_settings="resnet,cutoffMSE,1" '
    '--noise_settings="True,binary_uniform" --params_settings="meanvar_avg,0.5,2000" '
    '--parameters="False,0.5,1,0.08,0"',
]
UTKF_2021 = {**UTKF, "ingest": {"split_seed": 7159, "normalize": True, "train_size": 16000}}
NOISE_2021 = {"enabled": True, "distribution": "uniform", "units": "raw", "seed": 7159}
BINARY_MEANVAR = {**NOISE_2021, "parameterisation": "meanvar", "p": 0.5}
CUTOFF_NOTE = (
    "--model_settings: cutoff 1 is taken in the learner's (standardised) units; the original "
    "divided it by the label variance when normalising"
)
EXPECTED_RUN_THE_CODE_2021 = {
    **UTKF_2021,
    "model": "vanilla_cnn",
    "loss": "cutoff",
    "noise": {
        **BINARY_MEANVAR,
        "average_variance": 3000.0,
        "components": [[0.5, 0.3], [1.0, 0.0]],
        "hetero_scale": 0.3,
    },
}
EXPECTED_2021 = [
    Translation(
        {**UTKF_2021, "model": "vanilla_cnn", "loss": "mse", "noise": {"enabled": False}},
        ["--model_settings: the third value (0.5) is ignored with loss mse"],
    ),
    Translation(
        {
            **UTKF_2021,
            "model": "resnet18",
            "loss": "biv",
            "epsilon": 0.5,
            "noise": {**NOISE_2021, "parameterisation": "bounds", "components": [[0.0, 1.0]]},
        },
        [],
    ),
    Translation(
        {
            **UTKF_2021,
            "model": "resnet18",
            "loss": "biv",
            "epsilon": 0.5,
            "noise": {
                **NOISE_2021,
                "parameterisation": "meanvar",
                "components": [[0.5, 0.083]],
                "hetero_scale": 0.083,
            },
        },
        [],
    ),
    Translation(
        {
            **UTKF_2021,
            "model": "resnet18",
            "loss": "biv",
            "epsilon": 0.5,
            "noise": {
                **NOISE_2021,
                "parameterisation": "bounds",
                "p": 0.5,
                "components": [[0.0, 1.0], [1.0, 4.0]],
            },
        },
        [],
    ),
    Translation(
        {
            **UTKF_2021,
            "model": "resnet18",
            "loss": "mse",
            "noise": {**BINARY_MEANVAR, "components": [[0.5, 0.083], [1.0, 0.0]]},
        },
        [],
    ),
    Translation(
        {
            **UTKF_2021,
            "model": "resnet18",
            "loss": "biv",
            "epsilon": 0.5,
            "noise": {
                **BINARY_MEANVAR,
                "average_variance": 2000.0,
                "components": [[0.5, 0.083], [1.0, 0.0]],
            },
        },
        [],
    ),
    Translation(
        {
            **UTKF_2021,
            "model": "resnet18",
            "loss": "cutoff",
            "cutoff": 1.0,
            "noise": {
                **BINARY_MEANVAR,
                "average_variance": 2000.0,
                "components": [[0.5, 0.08], [1.0, 0.0]],
            },
        },
        [CUTOFF_NOTE],
    ),
]
IDS_2021 = [f"2021-example{i + 1}" for i in range(len(EXAMPLES_2021))]


def test_2021_examples_are_the_latest_readme_commands():
    readme = " ".join(LATEST_README.read_text().split())
    for command in [RUN_THE_CODE_2021, *EXAMPLES_2021]:
        assert " ".join(command.split()) in readme


def test_2021_run_the_code_translates_cutoffmse_binary_uniform_and_meanvar_avg():
    assert run_translate(RUN_THE_CODE_2021) == Translation(EXPECTED_RUN_THE_CODE_2021, [])


@pytest.mark.parametrize("index", range(len(EXAMPLES_2021)), ids=IDS_2021)
def test_2021_example_translates_to_the_expected_parameters(index):
    assert run_translate(EXAMPLES_2021[index]) == EXPECTED_2021[index]


@pytest.mark.parametrize("command", [RUN_THE_CODE_2021, *EXAMPLES_2021[1:]])
def test_2021_examples_give_a_valid_noise_block(command):
    NoiseConfig(**run_translate(command).params["noise"])


@pytest.mark.parametrize(
    "command",
    [RUN_THE_CODE, *EXAMPLES, RUN_THE_CODE_2021, *EXAMPLES_2021],
    ids=["2020-run", *[f"2020-{i + 1}" for i in range(6)], "2021-run", *IDS_2021],
)
def test_every_readme_command_passes_through_dry_run(command, capsys):
    status = main([*legacy_args(command), "--dry-run"])
    out, err = capsys.readouterr()
    # the 2020 "Run the Code" misspells meanvar; three 2020 examples give a mean of 0, which
    # the run refuses (test_readme_meanvar_examples_have_a_zero_mean_that_the_pipeline_rejects)
    expected = 2 if command == RUN_THE_CODE else 1 if command in EXAMPLES[3:6] else 0
    assert status == expected, err
    if expected == 0:
        assert "\nkedro run --params " in out
        assert "dataset=utkf," in out
    if expected == 1:
        assert err.startswith("Error: noise.components[0] = [0.0, 20.0] is (mean, variance)")


def test_the_2021_shape_refuses_2020_only_flags():
    with pytest.raises(LegacyArgumentError, match=r"--epsilon belong to the 2020 command line"):
        run_translate(f'{EXAMPLES_2021[1]} --epsilon="0.5"')


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("resnet,biv,0.5", "biv,resnet", r"model .* 'biv'"),
        ("resnet,biv,0.5", "resnet,cutoffmse", r"loss .* 'cutoffmse'; did you mean 'cutoffMSE'"),
        ('"boundaries,0.5"', '"boundaries"', r"--params_settings needs 2 value\(s\) \(type,p\)"),
        ('"0,1,1,4"', '"0,1,1"', r"--parameters needs x1,x2,y1,y2 here"),
        ("True,binary_uniform", "True,bimodal", r"type .* 'bimodal'"),
    ],
)
def test_a_bad_2021_value_names_the_flag(old, new, message):
    with pytest.raises(LegacyArgumentError, match=message):
        run_translate(EXAMPLES_2021[3].replace(old, new))


def test_a_bike_command_sets_the_dataset_and_training_size():
    params = run_translate(
        '--experiment_settings="t,1,bike,True,5000" --model_settings="vanilla_ann,iv,0.1" '
        '--noise_settings="False"'
    ).params
    assert (params["dataset"], params["ingest"]["train_size"], params["epsilon"]) == (
        "bike",
        5000,
        0.1,
    )


@pytest.mark.parametrize("command", [EXAMPLES_2021[0], RUN_THE_CODE_2021], ids=["mse", "cutoff"])
def test_2021_vanilla_cnn_commands_run_end_to_end_on_the_face_sample(project, shared_data, command):
    options = ["--data-dir", str(shared_data), "--epochs", "1", "--image-size", "32"]
    options += ["--train-size", "2000"]  # the 3,000-face sample has fewer than 16,000
    result = run_legacy(project, [*legacy_args(command), *options])
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    client = MlflowClient(tracking_uri=f"sqlite:///{project / 'mlflow.db'}")
    experiment = client.get_experiment_by_name(EXPERIMENT)
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.info.status == "FINISHED"
    assert run.data.params["data.train_rows"] == "2000"
    assert run.data.params["train.model"] == "vanilla_cnn"
