"""Find the processes a command started, in whatever session (torchrun puts
each rank into its own): the multi-process tests and
tools/dev/stress_distributed.py fail on and kill those left behind."""
import os


def processes_marked(marker: str) -> list:
    """Our processes whose environment holds ``marker`` (``NAME=value``,
    given to a command and inherited by everything it starts)."""
    found = []
    for entry in os.scandir('/proc'):
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                with open(f'/proc/{entry.name}/environ', 'rb') as f:
                    if marker.encode() in f.read().split(b'\0'):
                        found.append(int(entry.name))
            except OSError:  # gone, or not ours
                pass
    return found
