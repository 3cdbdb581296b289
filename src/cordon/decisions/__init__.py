"""What happens to the rules' decisions: stored once (stable ids), published on MQTT, pushed to live
subscribers, and taken through their life cycle by people (alerts acknowledged and closed, violations
reviewed, bollards overridden by hand)."""
