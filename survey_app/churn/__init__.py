"""Lost customers: who left and when, why, win-back work, and the analyses of churn."""
