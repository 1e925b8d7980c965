"""Request bodies the fake DSP accepts, for tests that need a campaign or ad group to exist."""


def campaign_payload(name="Spring launch", **extra):
    return {
        "name": name,
        "flights": {"flights": [{"startDateTime": "2030-01-01T00:00:00Z", "endDateTime": "2030-02-01T00:00:00Z",
                                 "budgetAmount": 1000}]},
        "optimization": {"bidStrategy": "SPEND_BUDGET_IN_FULL",
                         "goalSetting": {"kpi": "CLICK_THROUGH_RATE", "targetKpi": 0.1}},
        **extra,
    }


def ad_group_payload(campaign_id, name="Display prospecting", **extra):
    return {"campaignId": campaign_id, "name": name, "inventoryType": "DISPLAY", "bid": {"baseBid": 3.5},
            "creativeRotationType": "RANDOM", **extra}
