"""The job launchers (utils/run_local.sh, utils/run_slurm.sh) and conf/cmd.sh, run through bash.

Parallelism is proven by rendezvous, not timing: each job waits until every job has started,
which only finishes if they all run at once.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from antispoof.config import resolve_file, save_config
from tiny_configs import tiny_detector
from toy_data import make_toy_data_dir

REPO = Path(__file__).resolve().parents[1]
RUN_LOCAL = REPO / "utils" / "run_local.sh"
RUN_SLURM = REPO / "utils" / "run_slurm.sh"
CMD_SH = REPO / "conf" / "cmd.sh"

# job.sh <index> <num_jobs>: marks its start, then waits (up to 20 s) for all jobs to start.
RENDEZVOUS = """
touch "started.$1"
for _ in $(seq 200); do
  [ "$(ls started.* | wc -l)" -ge "$2" ] && exit 0
  sleep 0.1
done
exit 1
"""

STAMP = r"\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \w+ \d{4}"  # date(1) in the C locale


def fake_cores(directory: Path, cores: int) -> Path:
    """A directory holding an `nproc` that reports `cores`, to put first on PATH."""
    directory.mkdir(parents=True, exist_ok=True)
    nproc = directory / "nproc"
    nproc.write_text(f"#!/usr/bin/env bash\necho {cores}\n")
    nproc.chmod(0o755)
    return directory


def launch(
    launcher: Path,
    cwd: Path,
    *args: str,
    env: dict[str, str] | None = None,
    unset: list[str] | None = None,
    cores: int = 1,
) -> subprocess.CompletedProcess[str]:
    """The launcher run in `cwd` on a machine of `cores` cores (as `nproc` reports them), so that
    the threads a job gets by default are known."""
    full_env = {**os.environ, "LC_ALL": "C", **(env or {})}
    for name in unset or []:
        full_env.pop(name, None)
    cores_dir = fake_cores(cwd.with_name(f"{cwd.name}_cores"), cores)
    full_env["PATH"] = f"{cores_dir}{os.pathsep}{full_env['PATH']}"
    return subprocess.run(
        ["bash", str(launcher), *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def write_job(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "job.sh"
    path.write_text(body)
    return path


def assert_log(log: Path, command: str, code: int, output: str, threads: int = 1) -> None:
    lines = log.read_text().splitlines()
    assert lines[0] == f"# {command}"
    assert re.fullmatch(rf"# Started at {STAMP}", lines[1]), lines[1]
    assert lines[2] == "#"
    assert "\n".join(lines[3:-2]) == output
    assert re.fullmatch(rf"# Accounting: time=\d+ threads={threads}", lines[-2]), lines[-2]
    assert re.fullmatch(rf"# Ended \(code {code}\) at {STAMP}", lines[-1]), lines[-1]


# ---------------------------------------------------------------------------------------------
# run_local.sh


def test_jobs_run_in_parallel(tmp_path: Path) -> None:
    job = write_job(tmp_path, RENDEZVOUS)
    result = launch(RUN_LOCAL, tmp_path, "JOB=1:4", "log/rv.JOB.log", "bash", str(job), "JOB", "4")
    assert result.returncode == 0, result.stderr
    assert result.stdout == result.stderr == ""
    for index in range(1, 5):
        assert_log(tmp_path / f"log/rv.{index}.log", f"bash {job} {index} 4", 0, "")


def test_substitution_header_and_footer(tmp_path: Path) -> None:
    result = launch(
        RUN_LOCAL, tmp_path, "JOB=2:3", "exp/JOB/log/x.JOB.log", "echo", "job", "JOB", "of", "JOBS"
    )
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "exp/1").exists()
    for index in (2, 3):
        log = tmp_path / f"exp/{index}/log/x.{index}.log"
        assert_log(log, f"echo job {index} of {index}S", 0, f"job {index} of {index}S")


def test_any_job_variable_name(tmp_path: Path) -> None:
    result = launch(RUN_LOCAL, tmp_path, "SPLIT=1:2", "log/s.SPLIT.log", "echo", "SPLIT", "JOB")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "log/s.2.log").read_text().splitlines()[3] == "2 JOB"


def test_quoted_pipe_and_redirection_act_in_the_job_shell(tmp_path: Path) -> None:
    args = shlex.split("JOB=1:2 log/p.JOB.log echo hello JOB '|' tr a-z A-Z '>' out.JOB.txt")
    result = launch(RUN_LOCAL, tmp_path, *args)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out.2.txt").read_text() == "HELLO 2\n"
    assert_log(tmp_path / "log/p.2.log", "echo hello 2 | tr a-z A-Z > out.2.txt", 0, "")


def test_arguments_with_spaces_and_quotes_survive(tmp_path: Path) -> None:
    args = ["a b", "it's", 'say "hi"', "ark:gunzip -c feats.JOB.gz |", "", "back\\slash"]
    result = launch(RUN_LOCAL, tmp_path, "JOB=1:1", "log/q.JOB.log", "printf", "<%s>\\n", *args)
    assert result.returncode == 0, result.stderr
    output = (tmp_path / "log/q.1.log").read_text().splitlines()[3:-2]
    expected = [a.replace("JOB", "1") for a in args]
    assert output == [f"<{a}>" for a in expected]


def test_threads_and_gpu_settings(tmp_path: Path) -> None:
    result = launch(
        RUN_LOCAL,
        tmp_path,
        "--num-threads",
        "3",
        "JOB=1:1",
        "--gpu",  # options may also follow the range, as with run.pl
        "0",
        "--mem",
        "4G",
        "log/env.JOB.log",
        "bash",
        "-c",
        'echo "$OMP_NUM_THREADS $MKL_NUM_THREADS [$CUDA_VISIBLE_DEVICES]"',
        env={"CUDA_VISIBLE_DEVICES": "7"},
    )
    assert result.returncode == 0, result.stderr
    lines = (tmp_path / "log/env.1.log").read_text().splitlines()
    assert lines[3] == "3 3 []"
    assert lines[-2].endswith("threads=3")


@pytest.mark.parametrize(
    ("cores", "jobs", "threads"),
    [
        (8, ["JOB=1:4"], 2),  # nproc / nj
        (8, ["JOB=1:3"], 2),  # rounded down
        (2, ["JOB=1:4"], 1),  # at least one
        (8, ["--max-jobs-run", "2", "JOB=1:8"], 4),  # the jobs that run at once share the cores
        (8, [], 8),  # one job (training): every core
    ],
)
def test_each_job_takes_its_share_of_the_cores(
    tmp_path: Path, cores: int, jobs: list[str], threads: int
) -> None:
    command = ["bash", "-c", 'echo "$OMP_NUM_THREADS $MKL_NUM_THREADS"']
    result = launch(RUN_LOCAL, tmp_path, *jobs, "log/t.JOB.log", *command, cores=cores)
    assert result.returncode == 0, result.stderr
    lines = (tmp_path / ("log/t.1.log" if jobs else "log/t.JOB.log")).read_text().splitlines()
    assert lines[3] == f"{threads} {threads}"
    assert lines[-2].endswith(f"threads={threads}")


# An entry point that prints the threads torch runs with.
PRINT_THREADS = (
    "import torch\n"
    "from antispoof.bin._cli import run_main\n"
    "run_main(lambda _: print(torch.get_num_threads(), torch.get_num_interop_threads()), 'x')\n"
)


@pytest.mark.parametrize(
    ("job_env", "threads"),
    [
        ({"OMP_NUM_THREADS": "3"}, "3 3"),  # both pools: torch alone sizes inter-op by the cores
        ({"OMP_NUM_THREADS": "4", "LOCAL_WORLD_SIZE": "2"}, "2 2"),  # torchrun's processes share
        ({"OMP_NUM_THREADS": "1", "LOCAL_WORLD_SIZE": "2"}, "1 1"),
    ],
)
def test_entry_points_run_torch_on_their_share_of_the_job_threads(
    job_env: dict[str, str], threads: str
) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "LOCAL_WORLD_SIZE")}
    result = subprocess.run(
        [sys.executable, "-c", PRINT_THREADS],
        env={**env, **job_env},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.split("\n")[0] == threads


# The commands run.sh starts for every set, marker or stage that need no model: a torch import
# costs about 2 s a process, over a minute of the mini recipe's run.
TORCH_FREE_COMMANDS = (
    "calibrate",
    "collect_results",
    "evaluate",
    "fix_data_dir",
    "get_utt2dur",
    "prepare_asvspoof2019",
    "prepare_asvspoof2021",
    "prepare_asvspoof5",
    "prepare_eval_corpus",
    "prepare_in_the_wild",
    "seed_runs",
    "split_data_dir",
    "stage_marker",
    "validate_data_dir",
)


def test_the_data_and_table_commands_start_without_torch() -> None:
    imports = "".join(f"import antispoof.bin.{name}\n" for name in TORCH_FREE_COMMANDS)
    check = "import sys\nprint('torch' in sys.modules)\n"
    result = subprocess.run(
        [sys.executable, "-c", imports + check], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


# job.sh <index>: records the GPUs it was given as it starts and ends, running a while.
GPU_JOB = """
echo "start $1 $CUDA_VISIBLE_DEVICES" >> events
sleep 0.2
echo "end $1 $CUDA_VISIBLE_DEVICES" >> events
"""


def gpu_events(tmp_path: Path) -> list[tuple[str, int, str]]:
    """(start or end, job, its CUDA_VISIBLE_DEVICES) in the order they happened."""
    events = []
    for line in (tmp_path / "events").read_text().splitlines():
        kind, job, gpus = line.split(" ")
        events.append((kind, int(job), gpus))
    return events


def assert_no_gpu_shared(events: list[tuple[str, int, str]]) -> None:
    """No GPU is held by two jobs at once."""
    held: dict[str, int] = {}
    for kind, job, gpus in events:
        for gpu in gpus.split(","):
            if kind == "start":
                assert gpu not in held, f"GPU {gpu} given to job {job} while job {held[gpu]} ran"
                held[gpu] = job
            else:
                del held[gpu]


def fake_nvidia_smi(tmp_path: Path, body: str) -> dict[str, str]:
    """The environment of a machine whose nvidia-smi runs `body`."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "nvidia-smi").write_text(f"#!/usr/bin/env bash\n{body}\n")
    (bin_dir / "nvidia-smi").chmod(0o755)
    return {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}


def test_gpu_jobs_spread_over_the_visible_gpus_one_job_per_gpu(tmp_path: Path) -> None:
    job = write_job(tmp_path, GPU_JOB)
    result = launch(
        RUN_LOCAL,
        tmp_path,
        *["--gpu", "1", "JOB=1:5", "log/g.JOB.log", "bash"],
        str(job),
        "JOB",
        env={"CUDA_VISIBLE_DEVICES": "3,5"},
    )
    assert result.returncode == 0, result.stderr
    events = gpu_events(tmp_path)
    assert len(events) == 10
    assert {gpus for _, _, gpus in events} == {"3", "5"}  # each job one GPU, both GPUs used
    assert_no_gpu_shared(events)


def test_jobs_of_several_gpus_take_disjoint_groups(tmp_path: Path) -> None:
    job = write_job(tmp_path, 'echo "$CUDA_VISIBLE_DEVICES"\n' + RENDEZVOUS)
    result = launch(
        RUN_LOCAL,
        tmp_path,
        *["--gpu", "2", "JOB=1:2", "log/g.JOB.log", "bash"],
        str(job),
        "JOB",
        "2",
        env={"CUDA_VISIBLE_DEVICES": "0,1,2,3,4"},
    )
    assert result.returncode == 0, result.stderr  # both ran at once (the rendezvous)
    given = {(tmp_path / f"log/g.{i}.log").read_text().splitlines()[3] for i in (1, 2)}
    assert given == {"0,1", "2,3"}


def test_without_cuda_visible_devices_the_gpus_are_nvidia_smis(tmp_path: Path) -> None:
    env = fake_nvidia_smi(tmp_path, 'echo "0"; echo "1"; echo "2"')
    job = write_job(tmp_path, 'echo "$CUDA_VISIBLE_DEVICES"\n' + RENDEZVOUS)
    result = launch(
        RUN_LOCAL,
        tmp_path,
        *["--gpu", "1", "JOB=1:3", "log/g.JOB.log", "bash"],
        str(job),
        "JOB",
        "3",
        env=env,
        unset=["CUDA_VISIBLE_DEVICES"],
    )
    assert result.returncode == 0, result.stderr
    given = sorted((tmp_path / f"log/g.{i}.log").read_text().splitlines()[3] for i in (1, 2, 3))
    assert given == ["0", "1", "2"]


def test_with_no_gpu_visible_cuda_visible_devices_is_left_alone(tmp_path: Path) -> None:
    env = fake_nvidia_smi(tmp_path, "echo 'NVIDIA-SMI has failed: no driver' >&2; exit 9")
    result = launch(
        RUN_LOCAL,
        tmp_path,
        *["--gpu", "1", "JOB=1:2", "log/env.JOB.log", "bash", "-c"],
        'echo "[${CUDA_VISIBLE_DEVICES-unset}]"',
        env=env,
        unset=["CUDA_VISIBLE_DEVICES"],
    )
    assert result.returncode == 0, result.stderr
    for index in (1, 2):
        assert (tmp_path / f"log/env.{index}.log").read_text().splitlines()[3] == "[unset]"


def test_fewer_visible_gpus_than_a_job_takes_is_an_error(tmp_path: Path) -> None:
    result = launch(
        RUN_LOCAL,
        tmp_path,
        *["--gpu", "2", "JOB=1:2", "log/x.JOB.log", "true"],
        env={"CUDA_VISIBLE_DEVICES": "7"},
    )
    assert result.returncode == 1
    assert result.stderr == (
        "run_local.sh: --gpu 2: a job takes 2 GPUs; visible here: 7 (CUDA_VISIBLE_DEVICES, or "
        "else nvidia-smi)\n"
    )
    assert not (tmp_path / "log").exists()


def test_failing_job_fails_the_launcher_after_all_jobs_end(tmp_path: Path) -> None:
    # Job 2 fails at once; the others finish only after it has failed.
    job = write_job(
        tmp_path,
        'if [ "$1" = 2 ]; then touch failed; exit 3; fi\n'
        "until [ -e failed ]; do sleep 0.05; done\n"
        'touch "done.$1"\n',
    )
    result = launch(RUN_LOCAL, tmp_path, "JOB=1:3", "log/f.JOB.log", "bash", str(job), "JOB")
    assert result.returncode == 1
    assert result.stderr == "run_local.sh: 1 / 3 failed, log is in log/f.2.log\n"
    assert (tmp_path / "done.1").exists()
    assert (tmp_path / "done.3").exists()
    assert_log(tmp_path / "log/f.2.log", f"bash {job} 2", 3, "")
    assert_log(tmp_path / "log/f.3.log", f"bash {job} 3", 0, "")


def test_several_failures_name_the_first_failed_log(tmp_path: Path) -> None:
    job = write_job(tmp_path, '[ "$1" -lt 3 ]\n')
    result = launch(RUN_LOCAL, tmp_path, "JOB=1:5", "log/f.JOB.log", "bash", str(job), "JOB")
    assert result.returncode == 1
    assert result.stderr == "run_local.sh: 3 / 5 failed, log is in log/f.3.log\n"


@pytest.mark.parametrize("max_jobs", ["1", "2"])
def test_max_jobs_run_limits_concurrency(tmp_path: Path, max_jobs: str) -> None:
    # Each job records its start and end; with N slots, no start may come while N jobs run.
    job = write_job(tmp_path, 'echo "start $1" >> events\nsleep 0.05\necho "end $1" >> events\n')
    args = f"--max_jobs_run {max_jobs} JOB=1:5 log/m.JOB.log bash {job} JOB".split()
    result = launch(RUN_LOCAL, tmp_path, *args)
    assert result.returncode == 0, result.stderr
    running = 0
    events = (tmp_path / "events").read_text().splitlines()
    assert len(events) == 10
    for event in events:
        running += 1 if event.startswith("start") else -1
        assert running <= int(max_jobs), events
    if max_jobs == "1":
        assert events == [f"{kind} {i}" for i in range(1, 6) for kind in ("start", "end")]


def test_max_jobs_run_still_runs_jobs_in_parallel(tmp_path: Path) -> None:
    # Pairs meet: jobs 1 and 2 must run together, then 3 and 4.
    job = write_job(
        tmp_path,
        'touch "started.$1"\n'
        "partner=$(($1 % 2 == 1 ? $1 + 1 : $1 - 1))\n"
        'for _ in $(seq 200); do [ -e "started.$partner" ] && exit 0; sleep 0.1; done\n'
        "exit 1\n",
    )
    args = f"--max-jobs-run 2 JOB=1:4 log/m.JOB.log bash {job} JOB".split()
    result = launch(RUN_LOCAL, tmp_path, *args)
    assert result.returncode == 0, result.stderr


def test_single_job_form(tmp_path: Path) -> None:
    result = launch(RUN_LOCAL, tmp_path, "log/one.log", "echo", "JOB", "untouched")
    assert result.returncode == 0, result.stderr
    assert_log(tmp_path / "log/one.log", "echo JOB untouched", 0, "JOB untouched")

    result = launch(RUN_LOCAL, tmp_path, "log/one.log", "false")
    assert result.returncode == 1
    assert result.stderr == "run_local.sh: job failed, log is in log/one.log\n"
    assert_log(tmp_path / "log/one.log", "false", 1, "")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--max-jobs", "2", "JOB=1:2", "log/x.JOB.log", "true"], "unknown option --max-jobs"),
        (["JOB=1:2", "log/x.log", "true"], "lacks JOB"),
        (["JOB=3:2", "log/x.JOB.log", "true"], "empty job range"),
        (["JOB=1:2", "log/x.JOB.log"], "expected"),
        (["--max-jobs-run", "0", "JOB=1:2", "log/x.JOB.log", "true"], "--max-jobs-run"),
        (["--num-threads", "two", "log/x.log", "true"], "--num-threads"),
    ],
)
def test_usage_errors(tmp_path: Path, args: list[str], message: str) -> None:
    result = launch(RUN_LOCAL, tmp_path, *args)
    assert result.returncode == 1
    assert message in result.stderr
    assert not (tmp_path / "log").exists()


def test_help(tmp_path: Path) -> None:
    result = launch(RUN_LOCAL, tmp_path, "--help")
    assert result.returncode == 0
    assert "Usage:" in result.stdout
    assert "--max-jobs-run N" in result.stdout


def test_sigterm_stops_the_running_jobs(tmp_path: Path) -> None:
    args = ["JOB=1:2", "log/s.JOB.log", "touch", "started.JOB", "&&", "sleep", "60"]
    process = subprocess.Popen(
        ["bash", str(RUN_LOCAL), *args], cwd=tmp_path, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 20
    while not all((tmp_path / f"started.{i}").exists() for i in (1, 2)):
        assert time.monotonic() < deadline, "the jobs did not start"
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=20)
    assert process.returncode == 143
    assert "interrupted" in stderr
    for index in (1, 2):
        last = (tmp_path / f"log/s.{index}.log").read_text().splitlines()[-1]
        assert last.startswith("# Ended (code 143)")


# ---------------------------------------------------------------------------------------------
# run_slurm.sh, against a fake sbatch that runs the array's tasks one after another

FAKE_SBATCH = """#!/usr/bin/env bash
# Fake sbatch: records its arguments and the script, runs the tasks locally, exits 1 if any failed.
printf '%s\\n' "$@" > sbatch.args
script=${!#}
range=$(sed -n 's/^#SBATCH --array=\\([0-9]*-[0-9]*\\).*/\\1/p' "$script")
echo 4242
rc=0
if [ -z "$range" ]; then
  bash "$script" || rc=1
  exit "$rc"
fi
for ((i = ${range%-*}; i <= ${range#*-}; i++)); do
  case " ${FAKE_SBATCH_SKIP:-} " in *" $i "*) continue ;; esac
  SLURM_ARRAY_TASK_ID=$i bash "$script" || rc=1
done
exit "$rc"
"""


@pytest.fixture
def slurm_env(tmp_path: Path) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    sbatch = bin_dir / "sbatch"
    sbatch.write_text(FAKE_SBATCH)
    sbatch.chmod(0o755)
    return {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "ANTISPOOF_SLURM_OPTS": "--partition=cpu --time=1:00:00",
        "ANTISPOOF_SLURM_LOG_WAIT": "0",
    }


def test_slurm_array_script_and_logs(tmp_path: Path, slurm_env: dict[str, str]) -> None:
    options = shlex.split("--num-threads 2 --mem 4G --gpu 1 --max-jobs-run 2")
    command = shlex.split("echo 'a b' JOB '|' tr a-z A-Z")
    result = launch(
        RUN_SLURM, tmp_path, *options, "JOB=1:3", "log/x.JOB.log", *command, env=slurm_env
    )
    assert result.returncode == 0, result.stderr
    script = (tmp_path / "log/q/x.sh").read_text()
    for line in [
        "#SBATCH --array=1-3%2",
        "#SBATCH --cpus-per-task=2",
        "#SBATCH --mem=4G",
        "#SBATCH --gres=gpu:1",
        "#SBATCH --output=log/q/x.%a.out",
    ]:
        assert line in script.splitlines()
    assert "SLURM_ARRAY_TASK_ID" in script
    sbatch_args = (tmp_path / "sbatch.args").read_text().split()
    assert sbatch_args == shlex.split("--parsable --wait --partition=cpu --time=1:00:00 log/q/x.sh")
    for index in (1, 2, 3):
        log = tmp_path / f"log/x.{index}.log"
        assert_log(log, f"echo 'a b' {index} | tr a-z A-Z", 0, f"A B {index}", threads=2)


def test_slurm_single_job_without_gpu(tmp_path: Path, slurm_env: dict[str, str]) -> None:
    command = ["bash", "-c", 'echo "[$CUDA_VISIBLE_DEVICES] $OMP_NUM_THREADS"']
    result = launch(
        RUN_SLURM, tmp_path, "--gpu", "0", "exp/train.log", *command, env=slurm_env, cores=8
    )
    assert result.returncode == 0, result.stderr
    script = (tmp_path / "exp/q/train.sh").read_text()
    assert "--array" not in script
    assert "--gres" not in script
    # A task has the CPUs it asks for, whatever the cores of the machine that submits it.
    assert "#SBATCH --cpus-per-task=1" in script.splitlines()
    assert (tmp_path / "exp/train.log").read_text().splitlines()[3] == "[] 1"


def test_slurm_failed_task_is_reported(tmp_path: Path, slurm_env: dict[str, str]) -> None:
    job = write_job(tmp_path, '[ "$1" != 2 ]\n')
    result = launch(
        RUN_SLURM, tmp_path, "JOB=1:3", "log/f.JOB.log", "bash", str(job), "JOB", env=slurm_env
    )
    assert result.returncode == 1
    assert result.stderr == "run_slurm.sh: 1 / 3 failed, log is in log/f.2.log\n"
    assert_log(tmp_path / "log/f.2.log", f"bash {job} 2", 1, "")


def test_slurm_task_that_never_ended_is_a_failure(
    tmp_path: Path, slurm_env: dict[str, str]
) -> None:
    # A log of an earlier, successful run must not pass for the task that did not run.
    (tmp_path / "log").mkdir()
    (tmp_path / "log/f.3.log").write_text("# true\n# Ended (code 0) at Mon Jan  1 00:00:00 2024\n")
    env = {**slurm_env, "FAKE_SBATCH_SKIP": "3"}
    result = launch(RUN_SLURM, tmp_path, "JOB=1:3", "log/f.JOB.log", "true", env=env)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines[0] == "run_slurm.sh: 1 / 3 failed, log is in log/f.3.log"
    assert "log/q/f.3.out" in lines[1]
    assert not (tmp_path / "log/f.3.log").exists()


def test_slurm_submission_failure(tmp_path: Path, slurm_env: dict[str, str]) -> None:
    (tmp_path / "bin" / "sbatch").write_text(
        "#!/bin/sh\necho 'sbatch: invalid partition' >&2\nexit 1\n"
    )
    result = launch(RUN_SLURM, tmp_path, "JOB=1:2", "log/x.JOB.log", "true", env=slurm_env)
    assert result.returncode == 1
    assert "sbatch: invalid partition" in result.stderr
    assert "run_slurm.sh: sbatch did not submit log/q/x.sh (exit code 1)" in result.stderr


def test_slurm_usage_error(tmp_path: Path, slurm_env: dict[str, str]) -> None:
    result = launch(RUN_SLURM, tmp_path, "--queue", "x", "log/x.log", "true", env=slurm_env)
    assert result.returncode == 1
    assert "unknown option --queue" in result.stderr
    assert not (tmp_path / "sbatch.args").exists()


def test_slurm_gpu_jobs_ask_for_cpus_and_memory_per_gpu(
    tmp_path: Path, slurm_env: dict[str, str]
) -> None:
    # The submitting host's 64 cores and the per-job memory apply to CPU jobs only.
    options = shlex.split("--num-threads 64 --mem 32G --cpus-per-gpu 8 --mem-per-gpu 40G")
    command = ["bash", "-c", "echo $OMP_NUM_THREADS"]
    for gpus, cpus, memory in (("2", 16, "80G"), ("0", 64, "32G")):
        result = launch(
            RUN_SLURM, tmp_path, *options, "--gpu", gpus, "l/x.log", *command, env=slurm_env
        )
        assert result.returncode == 0, result.stderr
        script = (tmp_path / "l/q/x.sh").read_text().splitlines()
        assert f"#SBATCH --cpus-per-task={cpus}" in script
        assert f"#SBATCH --mem={memory}" in script
        assert ("#SBATCH --gres=gpu:2" in script) == (gpus == "2")
        assert_log(
            tmp_path / "l/x.log",
            "bash -c 'echo $OMP_NUM_THREADS'",
            0,
            str(cpus),
            threads=cpus,
        )


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--cpus-per-gpu", "0"], "--cpus-per-gpu must be a positive integer"),
        (["--mem-per-gpu", "32GB"], "--mem-per-gpu must look like 32G"),
    ],
)
def test_slurm_per_gpu_options_are_checked(
    tmp_path: Path, slurm_env: dict[str, str], option: list[str], message: str
) -> None:
    result = launch(RUN_SLURM, tmp_path, *option, "--gpu", "1", "l/x.log", "true", env=slurm_env)
    assert result.returncode == 1
    assert message in result.stderr


# Two "nodes" for the batch script: sbatch runs it here as the job's first node would.
FAKE_NODES = {
    "sbatch": 'echo 4242\nSLURM_JOB_NODELIST="gpu[07-08]" bash "${!#}"\n',
    "scontrol": "echo gpu07\necho gpu08\n",
    "srun": 'while [[ $1 == --* ]]; do shift; done\n"$@"\n',  # the command once
}


def test_slurm_nodes_meet_at_a_port_free_on_the_first_node(
    tmp_path: Path, slurm_env: dict[str, str]
) -> None:
    for name, body in FAKE_NODES.items():
        (tmp_path / "bin" / name).write_text(f"#!/usr/bin/env bash\n{body}")
        (tmp_path / "bin" / name).chmod(0o755)
    command = ["bash", "-c", 'echo "$MASTER_ADDR $MASTER_PORT"']
    ports = []
    for _ in range(2):
        result = launch(
            RUN_SLURM,
            tmp_path,
            "--num-nodes",
            "2",
            "l/t.log",
            *command,
            env=slurm_env,
            unset=["MASTER_ADDR", "MASTER_PORT"],
        )
        assert result.returncode == 0, result.stderr
        host, port = (tmp_path / "l/t.log").read_text().splitlines()[3].split()
        assert host == "gpu07"
        ports.append(int(port))
    assert all(1024 <= port < 65536 for port in ports)
    script = (tmp_path / "l/q/t.sh").read_text()
    assert "s.bind((" in script and "29500" not in script  # probed, never a fixed port
    # A rendezvous host of one's own comes with its port.
    given = {"MASTER_ADDR": "head", "MASTER_PORT": "6000"}
    result = launch(
        RUN_SLURM, tmp_path, "--num-nodes", "2", "l/t.log", *command, env={**slurm_env, **given}
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "l/t.log").read_text().splitlines()[3] == "head 6000"
    result = launch(
        RUN_SLURM,
        tmp_path,
        "--num-nodes",
        "2",
        "l/t.log",
        *command,
        env={**slurm_env, "MASTER_ADDR": "head"},
        unset=["MASTER_PORT"],
    )
    assert result.returncode == 1
    assert "MASTER_ADDR=head is set, so MASTER_PORT must be too" in result.stderr


# ---------------------------------------------------------------------------------------------
# the steps ask the launcher for their jobs' GPUs


@pytest.fixture(scope="module")
def toy_exp(tmp_path_factory) -> Path:
    """A recipe directory with toy data and an experiment whose jobs never run here."""
    root = tmp_path_factory.mktemp("steps")
    make_toy_data_dir(root, "train", 4, 0)
    make_toy_data_dir(root, "dev", 4, 1)
    (root / "tiny.yaml").write_text(yaml.safe_dump(tiny_detector()))
    save_config(resolve_file(root / "tiny.yaml"), root / "exp" / "config.yaml")
    (root / "exp" / "checkpoints").mkdir()
    (root / "exp" / "checkpoints" / "best.pt").write_bytes(b"only its checksum is read")
    return root


# step: (its arguments, the batch script its launcher writes)
STEPS = {
    "score": ("--nj 2 exp data/dev exp/dev", "exp/dev/log/q/score.sh"),
    "make_feats": (
        "--nj 2 --branch lfcc exp/config.yaml data/dev dump/dev",
        "dump/dev/log/q/make_feats.sh",
    ),
    "train": ("exp data/train data/dev", "exp/log/q/train.sh"),
}


def run_step(root: Path, step: str, options: str, env: dict[str, str]) -> Path:
    """Run steps/<step>.sh in `root` with `options` before its arguments; the path of the batch
    script its launcher wrote."""
    arguments, script = STEPS[step]
    command = [str(REPO / "steps" / f"{step}.sh"), *shlex.split(options), *shlex.split(arguments)]
    subprocess.run(
        command, cwd=root, env={**os.environ, **env}, capture_output=True, check=False, timeout=120
    )
    return root / script


@pytest.mark.parametrize(
    ("step", "ngpu", "resources"),
    [
        ("score", "1", ["--gres=gpu:1", "--cpus-per-task=4", "--mem=16G", "--array=1-2"]),
        ("make_feats", "1", ["--gres=gpu:1", "--cpus-per-task=4", "--mem=16G", "--array=1-2"]),
        ("train", "4", ["--gres=gpu:4", "--cpus-per-task=16", "--mem=64G"]),
    ],
)
def test_slurm_jobs_of_every_step_ask_for_their_gpus(
    toy_exp: Path, slurm_env: dict[str, str], step: str, ngpu: str, resources: list[str]
) -> None:
    # sbatch submits nothing here: the jobs' batch script is what the test reads.
    (Path(slurm_env["PATH"].split(os.pathsep)[0]) / "sbatch").write_text(
        "#!/usr/bin/env bash\necho 4242\n"
    )
    launcher = f"{RUN_SLURM} --mem 8G --cpus-per-gpu 4 --mem-per-gpu 16G"
    script = run_step(toy_exp, step, f"--cmd '{launcher}' --ngpu {ngpu}", slurm_env)
    lines = script.read_text().splitlines()
    for resource in resources:
        assert f"#SBATCH {resource}" in lines
    assert f"--ngpu {ngpu}" in script.read_text()


@pytest.mark.parametrize(("visible", "expected"), [("0,1", ["--gpu", "1"]), ("", [])])
@pytest.mark.parametrize("step", sorted(STEPS))
def test_without_ngpu_a_step_asks_for_a_gpu_when_the_machine_has_one(
    toy_exp: Path, tmp_path: Path, step: str, visible: str, expected: list[str]
) -> None:
    launcher = tmp_path / "launcher.sh"  # records its options, runs nothing
    launcher.write_text(f"#!/usr/bin/env bash\nprintf '%s\\n' \"$@\" > {tmp_path}/args\n")
    launcher.chmod(0o755)
    run_step(toy_exp, step, f"--cmd {launcher}", {"CUDA_VISIBLE_DEVICES": visible})
    args = (tmp_path / "args").read_text().splitlines()
    options = args[: next(i for i, arg in enumerate(args) if arg.endswith(".log"))]
    gpu = options[options.index("--gpu") : options.index("--gpu") + 2] if "--gpu" in options else []
    assert gpu == expected
    assert "--ngpu" not in args  # the program still chooses its device itself


def test_each_multi_node_training_has_a_rendezvous_of_its_own(
    toy_exp: Path, tmp_path: Path
) -> None:
    launcher = tmp_path / "launcher.sh"  # records its arguments and rendezvous, runs nothing
    launcher.write_text(
        "#!/usr/bin/env bash\n"
        f"printf '%s\\n' \"$@\" > {tmp_path}/args\n"
        f'echo "${{MASTER_ADDR-unset}} ${{MASTER_PORT-unset}}" > {tmp_path}/rendezvous\n'
    )
    launcher.chmod(0o755)

    def train(options: str) -> tuple[str, str, list[str]]:
        env = {"MASTER_ADDR": "stale", "MASTER_PORT": "29500"}  # left from another job
        run_step(toy_exp, "train", f"--cmd {launcher} --ngpu 0 --num_nodes 2 {options}", env)
        args = (tmp_path / "args").read_text().splitlines()
        rendezvous = (tmp_path / "rendezvous").read_text().strip()
        return args[args.index("--rdzv_id") + 1], rendezvous, args

    first, rendezvous, args = train("")
    second, _, _ = train("")
    assert first != second  # two runs never join one rendezvous
    assert rendezvous == "unset unset"  # the launcher names the host and a free port
    assert args[args.index("--rdzv_endpoint") + 1] == "${MASTER_ADDR}:${MASTER_PORT}"
    assert args[args.index("--num-nodes") + 1] == "2"
    assert args[args.index("--dist_timeout") + 1] == "30"  # minutes, antispoof.bin.train's
    chosen, rendezvous, args = train(
        "--master_addr node1 --master_port 6001 --rdzv_id run7 --dist_timeout 90"
    )
    assert (chosen, rendezvous) == ("run7", "node1 6001")
    assert args[args.index("--dist_timeout") + 1] == "90"


# ---------------------------------------------------------------------------------------------
# conf/cmd.sh


def source_cmd_sh(cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    printed = '"$train_cmd" "$decode_cmd" "$feats_cmd"'
    script = f'set -euo pipefail; . {CMD_SH}; printf "%s\\n" {printed}'
    clean = {k: v for k, v in os.environ.items() if k not in ("ANTISPOOF_ROOT", "cmd_backend")}
    env = {**clean, **env}
    return subprocess.run(
        ["bash", "-c", script], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


def test_cmd_sh_defaults_to_local(tmp_path: Path) -> None:
    result = source_cmd_sh(tmp_path, {})
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"{REPO}/utils/run_local.sh"] * 3


def test_cmd_sh_slurm_and_root(tmp_path: Path) -> None:
    result = source_cmd_sh(tmp_path, {"cmd_backend": "slurm", "ANTISPOOF_ROOT": "/opt/as"})
    assert result.returncode == 0, result.stderr
    for line in result.stdout.splitlines():
        assert re.fullmatch(
            r"/opt/as/utils/run_slurm\.sh --mem \d+G --cpus-per-gpu \d+ --mem-per-gpu \d+G", line
        )


def test_cmd_sh_unknown_backend(tmp_path: Path) -> None:
    result = source_cmd_sh(tmp_path, {"cmd_backend": "sge"})
    assert result.returncode == 1
    assert "sge" in result.stderr
