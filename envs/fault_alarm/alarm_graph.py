"""Ground-truth causal graph among the 18 FaultAlarm alarm types (Table 3 of Cai et al., Cai et al.)."""

from __future__ import annotations

import networkx as nx

from dogym.causal.graphs import assert_dag, causal_order

#: The 18 alarm types, in the order of the rows of Table 3 where they first appear.
ALARM_TYPES: tuple[str, ...] = (
    "MW_RDI",
    "LTI",
    "CLK_NO_TRACE_MODE",
    "S1_SYN_CHANGE",
    "LAG_MEMBER_DOWN",
    "PLA_MEMBER_DOWN",
    "ETH_LOS",
    "ETH_LINK_DOWN",
    "NE_COMMU_BREAK",
    "R_LOF",
    "TU_AIS",
    "RADIO_RSL_LOW",
    "MW_LOF",
    "MW_BER_SD",
    "BD_STATUS",
    "NE_NOT_LOGIN",
    "HARD_BAD",
    "POWER_ALM",
)

_CAUSES_AND_EFFECTS = {
    "MW_RDI": "LTI CLK_NO_TRACE_MODE S1_SYN_CHANGE LAG_MEMBER_DOWN PLA_MEMBER_DOWN ETH_LOS ETH_LINK_DOWN "
    "NE_COMMU_BREAK R_LOF",
    "TU_AIS": "LTI CLK_NO_TRACE_MODE S1_SYN_CHANGE",
    "RADIO_RSL_LOW": "LTI S1_SYN_CHANGE LAG_MEMBER_DOWN PLA_MEMBER_DOWN MW_RDI MW_LOF MW_BER_SD ETH_LINK_DOWN "
    "NE_COMMU_BREAK R_LOF",
    "BD_STATUS": "S1_SYN_CHANGE LAG_MEMBER_DOWN PLA_MEMBER_DOWN ETH_LOS MW_RDI MW_LOF ETH_LINK_DOWN RADIO_RSL_LOW "
    "TU_AIS",
    "NE_COMMU_BREAK": "LTI CLK_NO_TRACE_MODE S1_SYN_CHANGE LAG_MEMBER_DOWN PLA_MEMBER_DOWN ETH_LOS ETH_LINK_DOWN "
    "NE_NOT_LOGIN",
    "ETH_LINK_DOWN": "LTI CLK_NO_TRACE_MODE S1_SYN_CHANGE",
    "S1_SYN_CHANGE": "LTI",
    "POWER_ALM": "BD_STATUS ETH_LOS MW_RDI MW_LOF",
    "MW_BER_SD": "LTI S1_SYN_CHANGE PLA_MEMBER_DOWN MW_RDI MW_LOF ETH_LINK_DOWN NE_COMMU_BREAK R_LOF",
    "R_LOF": "LTI S1_SYN_CHANGE LAG_MEMBER_DOWN PLA_MEMBER_DOWN ETH_LINK_DOWN NE_COMMU_BREAK",
    "LTI": "CLK_NO_TRACE_MODE",
    "HARD_BAD": "LTI CLK_NO_TRACE_MODE S1_SYN_CHANGE BD_STATUS POWER_ALM LAG_MEMBER_DOWN PLA_MEMBER_DOWN ETH_LOS "
    "MW_RDI MW_LOF ETH_LINK_DOWN NE_COMMU_BREAK R_LOF NE_NOT_LOGIN RADIO_RSL_LOW TU_AIS",
    "ETH_LOS": "LTI CLK_NO_TRACE_MODE S1_SYN_CHANGE LAG_MEMBER_DOWN PLA_MEMBER_DOWN ETH_LINK_DOWN",
    "MW_LOF": "LTI CLK_NO_TRACE_MODE S1_SYN_CHANGE LAG_MEMBER_DOWN PLA_MEMBER_DOWN ETH_LOS MW_RDI ETH_LINK_DOWN "
    "NE_COMMU_BREAK R_LOF",
}

#: The 94 directed edges (cause, effect) of Table 3.
ALARM_EDGES: tuple[tuple[str, str], ...] = tuple(
    (cause, effect) for cause, effects in _CAUSES_AND_EFFECTS.items() for effect in effects.split()
)


def alarm_graph() -> nx.DiGraph:
    """Return a fresh copy of the true alarm-type DAG (18 nodes in `ALARM_TYPES` order, 94 edges)."""
    graph = nx.DiGraph()
    graph.add_nodes_from(ALARM_TYPES)
    graph.add_edges_from(ALARM_EDGES)
    assert_dag(graph)
    return graph


def alarm_causal_order() -> list[str]:
    """The alarm types in the canonical causal order of the true graph (HARD_BAD first)."""
    return causal_order(alarm_graph())
