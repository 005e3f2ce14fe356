"""Run a command and write its exit code, CPU time and peak memory to a file.

`python -I -S measure.py REPORT ADDRESS_SPACE COMMAND...`, started by test_hostile for each run. On Linux
a new program starts with the peak memory of the process that started it, so a run started straight from
the test process would be charged that process's peak (hundreds of MB late in a test session); started
from this small process it is charged its own. Nothing is printed: standard output and error are the run's.
"""
import os
import resource
import subprocess
import sys

report, address_space, *command = sys.argv[1:]
limit = int(address_space)
_, hard = resource.getrlimit(resource.RLIMIT_AS)
if hard == resource.RLIM_INFINITY or hard > limit:
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))  # inherited: keeps a runaway run off the machine
process = subprocess.Popen(command)
_, status, usage = os.wait4(process.pid, 0)
with open(report, "w") as out:
    out.write(f"{os.waitstatus_to_exitcode(status)} {usage.ru_utime + usage.ru_stime!r} {usage.ru_maxrss}\n")
