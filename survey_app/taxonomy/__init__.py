"""One editable list of reasons shared by complaints (their category) and lost customers (why they
left), so one Pareto chart can set why customers complain beside why they leave."""
