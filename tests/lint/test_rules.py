"""Every lint code: a case that fires and one that does not. Pure rules, no database."""

from __future__ import annotations

from cuecard.lint.flows import reachable_nodes, unreachable_nodes
from cuecard.lint.rules import Code, LintContext, LintTraining, Severity, amounts, lint

GOOD = (
    "Offer a refund within 30 days of delivery when the item is unused. "
    "Never promise a refund for opened headphones."
)


def t(ref: str, subject: str, instructions: str = GOOD, node_id: str | None = None) -> LintTraining:
    return LintTraining(ref, subject, instructions, node_id)


def codes(trainings: list[LintTraining], context: LintContext | None = None) -> list[Code]:
    return [f.code for f in lint(trainings, context or LintContext())]


class TestDuplicates:
    def test_the_same_instructions_twice_is_an_error(self) -> None:
        findings = lint(
            [t("a", "Refunds"), t("b", "Money back", "  " + GOOD.upper())], LintContext()
        )
        duplicate = [f for f in findings if f.code is Code.DUPLICATE_TRAINING]
        assert len(duplicate) == 1
        assert duplicate[0].refs == ["a", "b"] and duplicate[0].severity is Severity.ERROR

    def test_a_paraphrase_is_a_near_duplicate_with_its_similarity(self) -> None:
        findings = lint(
            [
                t(
                    "a",
                    "Store hours",
                    "Our stores open at 9 am and close at 6 pm, Monday to Saturday.",
                ),
                t(
                    "b",
                    "Opening times",
                    "The stores are open from 9 am until 6 pm from Monday through Saturday.",
                ),
            ],
            LintContext(),
        )
        near = [f for f in findings if f.code is Code.NEAR_DUPLICATE_TRAINING]
        assert len(near) == 1 and near[0].similarity is not None and near[0].similarity >= 0.8
        assert near[0].severity is Severity.WARNING

    def test_different_topics_are_not_duplicates(self) -> None:
        found = codes(
            [
                t("a", "Refunds", GOOD),
                t("b", "Store hours", "Stores open at 9 am and close at 6 pm, Monday to Saturday."),
            ]
        )
        assert Code.DUPLICATE_TRAINING not in found
        assert Code.NEAR_DUPLICATE_TRAINING not in found

    def test_languages_without_the_model_compare_terms(self) -> None:
        text = "Offer a refund within thirty days when the item is unused and in its box."
        findings = lint(
            [t("a", "Refunds", text), t("b", "Refunds", text + " Always.")],
            LintContext(language="nl-NL"),
        )
        near = [f for f in findings if f.code is Code.NEAR_DUPLICATE_TRAINING]
        assert near and near[0].similarity is not None and 0.8 <= near[0].similarity < 1


class TestConflictingValues:
    def test_thirty_against_sixty_days_on_one_topic(self) -> None:
        findings = lint(
            [
                t(
                    "a",
                    "Returns",
                    "Items can be returned within 30 days of delivery for a full refund.",
                ),
                t(
                    "b",
                    "Return window",
                    "Items can be sent back within 60 days of delivery for a full refund.",
                ),
            ],
            LintContext(),
        )
        conflict = [f for f in findings if f.code is Code.CONFLICTING_VALUES]
        assert len(conflict) == 1
        assert "30 days" in conflict[0].message and "60 days" in conflict[0].message
        assert conflict[0].severity is Severity.ERROR

    def test_the_same_numbers_or_unrelated_topics_do_not_conflict(self) -> None:
        assert Code.CONFLICTING_VALUES not in codes(
            [
                t("a", "Returns", "Items can be returned within 30 days of delivery."),
                t("b", "Return window", "You have 30 days from delivery to send items back."),
            ]
        )
        assert Code.CONFLICTING_VALUES not in codes(
            [
                t("a", "Returns", "Items can be returned within 30 days of delivery."),
                t(
                    "b",
                    "Gift cards",
                    "Gift cards are valid for 2 years; they hold up to 500 days of credit history.",
                ),
            ]
        )

    def test_amounts_read_units_on_either_side(self) -> None:
        assert amounts("30 days, 15%, € 20 or 4.95 euros, $5") == {
            "days": {30.0},
            "%": {15.0},
            "euros": {20.0, 4.95},
            "dollars": {5.0},
        }


class TestSingleTrainingRules:
    def test_a_placeholder_is_an_error(self) -> None:
        findings = lint(
            [
                t(
                    "a",
                    "Greeting",
                    "Greet {{ customer_name }} warmly and ask how you can help today.",
                )
            ],
            LintContext(),
        )
        assert [f.code for f in findings] == [Code.UNFILLED_PLACEHOLDER]
        assert "{{ customer_name }}" in findings[0].message
        assert Code.UNFILLED_PLACEHOLDER not in codes(
            [t("a", "Greeting", "Greet the caller {warmly} and ask how you can help.")]
        )

    def test_a_training_over_the_budget_alone(self) -> None:
        long = " ".join(["Explain the refund policy in detail to the caller."] * 30)
        assert codes([t("a", "Long", long)], LintContext(budget_tokens=100)) == [
            Code.TRAINING_OVER_BUDGET
        ]
        assert codes([t("a", "Long", long)], LintContext(budget_tokens=10_000)) == []

    def test_empty_and_one_line_instructions(self) -> None:
        assert codes([t("a", "Empty", "   ")]) == [Code.EMPTY_INSTRUCTIONS]
        assert codes([t("a", "Thin", "Be nice.")]) == [Code.ONE_LINE_INSTRUCTIONS]
        assert codes([t("a", "Two lines", "Be nice.\nNever promise refunds.")]) == []
        assert (
            codes([t("a", "Enough", "Be nice to callers and never promise refunds by phone.")])
            == []
        )


FLOW = {
    "initial_node_id": "greet",
    "nodes": [
        {"id": "greet", "type": "say", "next": "route"},
        {
            "id": "route",
            "type": "decision",
            "branches": [{"condition": "billing", "next": "billing"}, {"next": "support"}],
        },
        {"id": "billing", "type": "ask", "next": "end"},
        {"id": "support", "type": "transfer"},
        {"id": "end", "type": "end"},
        {"id": "orphan", "type": "say", "next": "end"},
        {"id": "orphan-child", "type": "say"},
    ],
}


class TestFlowReachability:
    def test_reachable_follows_next_and_branches(self) -> None:
        assert reachable_nodes(FLOW) == {"greet", "route", "billing", "support", "end"}
        assert unreachable_nodes(FLOW) == {"orphan", "orphan-child"}

    def test_cycles_unknown_targets_and_a_missing_start(self) -> None:
        cyclic = {
            "initial_node_id": "a",
            "nodes": [
                {"id": "a", "next": "b"},
                {"id": "b", "next": "a"},
                {"id": "c", "next": "nowhere"},
            ],
        }
        assert reachable_nodes(cyclic) == {"a", "b"}
        assert reachable_nodes({"nodes": [{"id": "x", "next": "y"}, {"id": "y"}]}) == {"x", "y"}
        assert reachable_nodes({"initial_node_id": "gone", "nodes": [{"id": "x"}]}) == set()
        assert reachable_nodes({}) == set()

    def test_a_training_scoped_to_an_unreachable_node_is_an_error(self) -> None:
        trainings = [
            t("a", "Orphan", node_id="orphan"),
            t("b", "Billing", GOOD + " Bill.", node_id="billing"),
        ]
        findings = lint(trainings, LintContext(flow=FLOW))
        assert [(f.code, f.refs) for f in findings] == [(Code.UNREACHABLE_FLOW_NODE, ["a"])]
        # Without a stored flow the rule does not apply; a node_id outside the flow neither.
        assert codes(trainings) == []
        assert codes([t("c", "Else", node_id="not-in-flow")], LintContext(flow=FLOW)) == []


class TestUntestedRetrieval:
    def test_a_retrieval_training_no_test_retrieves(self) -> None:
        trainings = [
            t("a", "Refunds"),
            t("b", "Hours", "Stores open at nine and close at six on weekdays."),
        ]
        context = LintContext(retrieval_refs={"a", "b"}, tested_refs={"a"})
        assert [(f.code, f.refs) for f in lint(trainings, context)] == [
            (Code.UNTESTED_RETRIEVAL_TRAINING, ["b"])
        ]
        # No tests at all: nothing is reported as untested.
        assert codes(trainings, LintContext(retrieval_refs={"a", "b"}, tested_refs=None)) == []
