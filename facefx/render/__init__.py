"""Renderers that draw a scene.RenderPlan: cpu (numpy/OpenCV) here, the GPU one in facefx.obs."""
