"""Local replicas of 博达 VSB sites (国际关系学院's 国关要闻 first), served on loopback.

`ReplicaSite` generates and answers (`theme="uir"`, the default, or
`"campus"`, a second site in an older VSB theme); `ReplicaServer` /
`running_replica` serve one site over HTTP, `running_replicas` several at
once; `python -m replica` runs them from the command line.
"""

from replica.server import ReplicaServer, running_replica, running_replicas
from replica.site import ReplicaSite
from replica.themes import THEMES

__all__ = ["THEMES", "ReplicaServer", "ReplicaSite", "running_replica", "running_replicas"]
