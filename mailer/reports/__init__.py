"""Reports for staff: what each mailing achieved, subscribers week by week, and the dashboard's figures.

Every figure is one aggregate query (GROUP BY in the database), never a loop over rows in Python.
"""
