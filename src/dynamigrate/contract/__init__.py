"""Migration contract: typed model, loading with structural checks, semantic validation, schema lint."""

from dynamigrate.contract.load import load_contract, parse_contract, parse_contract_file, parse_contract_text
from dynamigrate.contract.model import Attribute, Contract, Entity, Gsi, Table
from dynamigrate.contract.problems import Problem, ProblemList

__all__ = [
    "Attribute",
    "Contract",
    "Entity",
    "Gsi",
    "Problem",
    "ProblemList",
    "Table",
    "load_contract",
    "parse_contract",
    "parse_contract_file",
    "parse_contract_text",
]
