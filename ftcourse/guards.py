"""Checks that stop a lab early with a message a student can act on (Korean, then English gist).

Each check takes plain values (is CUDA available? how many bytes are free?), so its logic is tested
on the CPU; `ftcourse.labs.start_lab` feeds them the real readings on the GPU machine.
"""
from __future__ import annotations

import os
import socket

from .errors import LabError

GiB = 1024**3
HUB_HOST = "huggingface.co"


def check_cuda(available: bool) -> None:
    if available:
        return
    raise LabError(
        "CUDA GPU가 보이지 않습니다. Unsloth는 NVIDIA GPU에서만 동작합니다. "
        "Colab이라면 메뉴 [런타임] → [런타임 유형 변경] → 하드웨어 가속기에서 'T4 GPU'를 고른 뒤 "
        "[런타임] → [세션 다시 시작]을 누르고 처음부터 다시 실행하세요.",
        "No CUDA GPU found: Unsloth needs an NVIDIA GPU. In Colab pick Runtime > Change runtime type > "
        "T4 GPU, restart the session and run the notebook from the top.",
    )


def hub_reachable(host: str = HUB_HOST, timeout: float = 3.0) -> bool:
    """False when offline mode is set or the hub's HTTPS port cannot be reached."""
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}:
        return False
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


def check_hub_access(downloads: list[str], reachable: bool) -> None:
    """`downloads`: the hub ids the run needs (the recipe's model and dataset, when not local files)."""
    if not downloads or reachable:
        return
    names = ", ".join(downloads)
    raise LabError(
        f"이 실행은 Hugging Face Hub에서 {names}을(를) 내려받아야 하는데 Hub에 접속할 수 없습니다"
        "(또는 HF_HUB_OFFLINE=1이 설정되어 있습니다). 네트워크가 없는 곳에서는 parameters 셀에서 "
        "LAB_PROFILE = \"smoke\"로 바꾸거나, 환경 변수 LAB_PROFILE=smoke로 실행하세요. smoke 프로필은 "
        "저장소의 data/에 있는 합성 데이터와 작은 Qwen3 모델만 씁니다.",
        f"This run downloads {names} from the Hugging Face Hub, which is unreachable (or HF_HUB_OFFLINE=1 "
        "is set). Offline, run the smoke profile: LAB_PROFILE=smoke.",
    )


OFFLINE_BY_SMOKE = "FTCOURSE_OFFLINE_BY_SMOKE"  # set next to HF_HUB_OFFLINE when a smoke run turned it on


def check_offline_left_by_smoke(downloads: list[str], left_by_smoke: bool) -> None:
    """A full run after a smoke run in the same runtime: the hub libraries read HF_HUB_OFFLINE when
    first imported, so only a restart turns the offline mode off again."""
    if not downloads or not left_by_smoke:
        return
    raise LabError(
        "이 런타임에서 smoke 프로필을 먼저 돌려 오프라인 모드(HF_HUB_OFFLINE=1)가 켜져 있습니다. 허브 라이브러리는 "
        "이 설정을 처음 불릴 때만 읽으므로, [런타임] → [세션 다시 시작]을 누른 뒤 full 프로필로 처음부터 실행하세요.",
        "A smoke run earlier in this runtime turned on HF_HUB_OFFLINE; the hub libraries read it only once. "
        "Restart the session, then run the full profile from the top.",
    )


def check_gpu_memory(estimate_bytes: float, free_bytes: float, what: str) -> None:
    """Stop before loading when the free GPU memory is below the estimated peak of `what`."""
    if free_bytes >= estimate_bytes:
        return
    est, free = estimate_bytes / GiB, free_bytes / GiB
    raise LabError(
        f"GPU 메모리가 모자랍니다: {what}의 예상 최대 사용량은 약 {est:.1f} GiB인데 "
        f"지금 비어 있는 메모리는 {free:.1f} GiB입니다. 다른 노트북이나 프로세스를 끄고 세션을 다시 "
        "시작하거나, parameters 셀에서 MAX_SEQ_LENGTH(예: 1024)나 BATCH_SIZE(예: 1)를 낮추세요.",
        f"Not enough free GPU memory for {what}: estimated peak {est:.1f} GiB, free {free:.1f} GiB. "
        "Close other sessions, or lower MAX_SEQ_LENGTH / BATCH_SIZE.",
    )
