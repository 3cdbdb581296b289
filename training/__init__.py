"""Training Cordon plate reader: synthetic plates, the network, training, ONNX export, evaluation."""
