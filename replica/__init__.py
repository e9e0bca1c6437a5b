"""A local replica of the 国关要闻 column of www.uir.edu.cn (博达 VSB CMS), served on loopback.

`ReplicaSite` generates and answers; `ReplicaServer` / `running_replica` serve
it over HTTP; `python -m replica` runs it from the command line.
"""

from replica.server import ReplicaServer, running_replica
from replica.site import ReplicaSite

__all__ = ["ReplicaServer", "ReplicaSite", "running_replica"]
