"""Load a data set that ships with scikit-learn (no network) and pass it on."""

import orchest
from sklearn.datasets import load_breast_cancer

data = load_breast_cancer()
orchest.output((data.data, data.target, list(data.feature_names)), name="data")
print(f"loaded {data.data.shape[0]} samples with {data.data.shape[1]} features")
